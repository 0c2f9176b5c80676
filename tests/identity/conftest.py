import pytest

from tests.support.keycloak import Keycloak, find_keycloak
from tests.support.services import running, service_env


@pytest.fixture(scope="session")
def keycloak() -> Keycloak:
    """The real OpenID provider with the project's realm (a test using it is marked `infra`)."""
    return find_keycloak()


@pytest.fixture(scope="module")
def enrolment(keycloak: Keycloak, child_env_module: dict[str, str]):
    """The enrolment service as a real process that accepts the realm's access tokens, and only those."""
    yield from running("enrolment", service_env(child_env_module, **keycloak.service_env()))
