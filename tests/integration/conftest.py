import pytest

from shared import eventstore
from shared.db import create_pool, migrate, migration_files


@pytest.fixture
async def store_factory(dsn):
    """Event stores in fresh schemas of this run's database, closed after the test."""
    pools = []

    async def make(schema: str) -> eventstore.PostgresEventStore:
        pool = await create_pool(dsn, schema, max_size=8)
        pools.append(pool)
        await migrate(pool, schema, migration_files(eventstore.MIGRATIONS))
        return eventstore.PostgresEventStore(pool, schema)

    yield make
    for pool in pools:
        await pool.close()
