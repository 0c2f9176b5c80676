import pytest

from tests.conftest import _child_env
from tests.support.services import ServiceProcess, service_env


@pytest.fixture(scope="package")
def platform(infra, dsn, kafka):
    """The four services as separate processes, shared by the end-to-end tests."""
    env = service_env(_child_env(dsn, kafka))
    running = {name: ServiceProcess(name, env).start() for name in ("enrolment", "matching", "sessions", "insights")}
    yield running
    assert [s.stop() for s in running.values()] == [0, 0, 0, 0], "every service stops cleanly on SIGTERM"
