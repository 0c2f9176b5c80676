"""How tests find Kafka and PostgreSQL (issue #2):

1. `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` when set;
2. otherwise testcontainers, when a Docker engine answers;
3. otherwise the local servers of `deploy/local` (`make infra-up`).
Under CI=true a server that does not answer fails the test; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.settings import KafkaSettings
from shared.topics import create_topics, platform_topics

# The servers `deploy/local/infra.sh up` starts, on the ports it was told to use.
LOCAL_KAFKA = f"127.0.0.1:{os.environ.get('TANDEM_KAFKA_PORT', '9092')}"
LOCAL_DATABASE = f"postgresql://tandem@127.0.0.1:{os.environ.get('TANDEM_PG_PORT', '5432')}/tandem"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str
    origin: str  # "environment", "testcontainers" or "deploy/local"


def docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def provide_infra() -> Iterator[Infra]:
    kafka, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and database:
        yield Infra(kafka, database, "environment")
    elif docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with KafkaContainer("apache/kafka:4.4.0").with_kraft() as k, PostgresContainer("postgres:15") as pg:
            yield Infra(k.get_bootstrap_server(), pg.get_connection_url(driver=None), "testcontainers")
    else:
        yield Infra(kafka or LOCAL_KAFKA, database or LOCAL_DATABASE, "deploy/local")


def unavailable(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable ({type(error).__name__}: {error}); start it with `make infra-up`"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs real infrastructure: {message}", pytrace=False)
    pytest.skip(message)


async def check_reachable(infra: Infra) -> None:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(infra.database_url), 10)
        await conn.close()
    except Exception as error:
        unavailable(f"PostgreSQL at {infra.database_url}", error)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), 15)
        await admin.close()
    except Exception as error:
        unavailable(f"Kafka at {infra.kafka_bootstrap_servers}", error)


@dataclass(frozen=True)
class Store:
    """A database and a Kafka topic prefix (with the platform's topics) of their own. A test run writes to one; so
    does a test that reads the whole log back or counts what a fresh platform does, so that no other test's events
    are in what it sees, whichever tests ran before it on the same worker."""

    name: str  # the database's and the topic prefix's
    dsn: str
    kafka: KafkaSettings


def store_name(run_id: str, purpose: str) -> str:
    """A name never used before: a store dropped and made again must not find the old one's events on its topics."""
    return f"{run_id}_{purpose}_{uuid.uuid4().hex[:6]}"


async def create_store(infra: Infra, name: str) -> Store:
    admin = await asyncpg.connect(infra.database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    kafka = KafkaSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, topic_prefix=name)
    await create_topics(kafka, platform_topics(name))
    return Store(name, urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{name}")), kafka)


async def drop_store(infra: Infra, store: Store) -> None:
    """Drops the database; the topics stay, as the broker's retention keeps them (their prefix is never reused)."""
    if os.environ.get("TANDEM_TEST_KEEP_DATABASE"):  # a post-mortem: the database stays for psql
        print(f"\nkept database {store.name}")
        return
    admin = await asyncpg.connect(infra.database_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {store.name} WITH (FORCE)")
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def own_store(infra: Infra, name: str) -> AsyncIterator[Store]:
    store = await create_store(infra, name)
    try:
        yield store
    finally:
        await drop_store(infra, store)


def store_fixtures(purpose: str, scope: Literal["package", "module"]) -> tuple[object, object, object]:
    """A `{purpose}_store` of its own for each package or module (`scope`), and the `dsn` and `kafka` fixtures that
    point the tests of that conftest at it instead of the run's store. Assign all three in the conftest."""

    @pytest.fixture(scope=scope, name=f"{purpose}_store")
    async def store(infra: Infra, run_id: str) -> AsyncIterator[Store]:
        async with own_store(infra, store_name(run_id, purpose)) as made:
            yield made

    @pytest.fixture(scope=scope, name="dsn")
    def dsn(request: pytest.FixtureRequest) -> str:
        return request.getfixturevalue(f"{purpose}_store").dsn

    @pytest.fixture(scope=scope, name="kafka")
    def kafka(request: pytest.FixtureRequest) -> KafkaSettings:
        return request.getfixturevalue(f"{purpose}_store").kafka

    return store, dsn, kafka


# Tests that start child processes belong to the slow layer (tests/conftest.py), beside those that start servers.
CROSSES_A_PROCESS = pytest.mark.infra


def pytest_run(target: str, ci: str, **servers: str) -> subprocess.CompletedProcess:
    """A child pytest run of `target` with CI set to `ci` and the servers' variables pointing where `servers` say:
    how a test proves that a missing server fails the run under CI and skips it elsewhere."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **servers, "CI": ci},
        capture_output=True,
        text=True,
        timeout=120,
    )
