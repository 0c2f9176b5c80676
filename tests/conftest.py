from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.settings import KafkaSettings
from tests.support.infra import Infra, Store, check_reachable, own_store, provide_infra


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reaches Kafka, PostgreSQL or Keycloak (through any fixture), or renders the deployment with the
    tools CI builds (helm), is marked `infra`: `-m "not infra"` is the fast server-free layer, `-m infra` the layer that
    crosses a process, a broker or a tool. Derived from what the test uses, so it cannot go stale."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "infra_servers" in fixtures or "keycloak" in fixtures or item.path.parent.name == "deploy":
            item.add_marker(pytest.mark.infra)


# Packages whose fixtures start a platform once for the whole package (scope="package").
_PACKAGE_SCOPED = ("tests/browser", "tests/e2e")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under `--dist loadfile` (the server layer, Makefile), a package whose fixtures are package-scoped goes to one
    worker as a whole: split by file, each worker would start that package's platform of its own, and a worker
    leaving the package between two of its files would tear it down and start it again."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByFileOrPackage(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            package = path.rsplit("/", 1)[0]
            return package if package in _PACKAGE_SCOPED else path

    return ByFileOrPackage(config, log)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def infra_servers() -> Iterator[Infra]:
    with provide_infra() as infra:
        yield infra


@pytest.fixture(scope="session")
async def infra(infra_servers: Infra) -> Infra:
    await check_reachable(infra_servers)
    return infra_servers


@pytest.fixture(scope="session")
def run_id() -> str:
    """Keeps this test run's topics and database apart from any other run on the same servers."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
async def run_store(infra: Infra, run_id: str) -> AsyncIterator[Store]:
    """A fresh database and topic prefix for this test run (per xdist worker), the database dropped at the end."""
    async with own_store(infra, run_id) as store:
        yield store


@pytest.fixture(scope="session")
def dsn(run_store: Store) -> str:
    return run_store.dsn


@pytest.fixture(scope="session")
def kafka(run_store: Store) -> KafkaSettings:
    """Kafka settings with this run's topic prefix; the platform topics exist."""
    return run_store.kafka


@pytest.fixture
def child_env(infra: Infra, dsn: str, kafka: KafkaSettings) -> dict[str, str]:
    """Environment for a real child process (relay, projection worker) pointed at this run's servers."""
    return _child_env(dsn, kafka)


@pytest.fixture(scope="module")
def child_env_module(infra: Infra, dsn: str, kafka: KafkaSettings) -> dict[str, str]:
    return _child_env(dsn, kafka)


def _child_env(dsn: str, kafka: KafkaSettings) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.kafka_bootstrap_servers,
        "DATABASE_URL": dsn,
        "TANDEM_TOPIC_PREFIX": kafka.topic_prefix,
        # the services refuse the public development keys the tests sign tokens with, unless told otherwise
        "TANDEM_DEVELOPMENT": "true",
    }
