from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.settings import KafkaSettings
from shared.topics import create_topics, platform_topics
from tests.support.infra import Infra, check_reachable, provide_infra


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reaches Kafka, PostgreSQL or Keycloak (through any fixture), or renders the deployment with the
    tools CI builds (helm), is marked `infra`: `-m "not infra"` is the fast server-free layer, `-m infra` the layer that
    crosses a process, a broker or a tool. Derived from what the test uses, so it cannot go stale."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "infra_servers" in fixtures or "keycloak" in fixtures or item.path.parent.name == "deploy":
            item.add_marker(pytest.mark.infra)


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
async def dsn(infra: Infra, run_id: str) -> AsyncIterator[str]:
    """A fresh database for this test run, dropped at the end."""
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f"CREATE DATABASE {run_id}")
    url = urlsplit(infra.database_url)
    yield urlunsplit(url._replace(path=f"/{run_id}"))
    if os.environ.get("TANDEM_TEST_KEEP_DATABASE"):  # a post-mortem: the run's database stays for psql
        print(f"\nkept database {run_id}")
    else:
        await admin.execute(f"DROP DATABASE IF EXISTS {run_id} WITH (FORCE)")
    await admin.close()


@pytest.fixture(scope="session")
async def kafka(infra: Infra, run_id: str) -> KafkaSettings:
    """Kafka settings with this run's topic prefix; the platform topics exist."""
    settings = KafkaSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, topic_prefix=run_id)
    await create_topics(settings, platform_topics(run_id))
    return settings


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
