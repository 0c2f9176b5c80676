import asyncio

import pytest

from tests.contracts.event_store import EventStoreContract, events


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, store_factory, request):
        return await store_factory("es_" + request.node.name.removeprefix("test_")[:40])


async def test_of_two_concurrent_appends_at_one_version_exactly_one_wins(store_factory):
    store = await store_factory("es_race")
    for i in range(20):
        stream = f"race-{i}"
        await store.append(stream, 0, events(stream, 1))
        outcomes = await asyncio.gather(
            store.append(stream, 1, events(stream, 1)),
            store.append(stream, 1, events(stream, 1)),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["AppendResult", "ConcurrencyError"]
        assert [e.version for e in await store.read_stream(stream)] == [1, 2]


async def test_events_commit_with_the_callers_state_change_or_not_at_all(store_factory):
    store = await store_factory("es_tx")
    async with store.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await store.append("s1", 0, events("s1", 1), conn=conn)
                raise RuntimeError("the command handler failed after appending")
    assert await store.read_stream("s1") == []


async def test_a_reader_following_positions_never_skips_a_late_commit(store_factory):
    store = await store_factory("es_follow")
    writers, appends_each = 4, 60
    seen: list[int] = []
    done = asyncio.Event()

    async def write(w: int) -> None:
        for i in range(appends_each):
            await store.append(f"w{w}-{i}", 0, events(f"w{w}-{i}", 1))

    async def follow() -> None:
        cursor = 0
        while not done.is_set() or len(seen) < writers * appends_each:
            batch = await store.read_after(cursor, 50)
            seen.extend(e.position for e in batch)
            cursor = batch[-1].position if batch else cursor
            await asyncio.sleep(0)

    reader = asyncio.create_task(follow())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await asyncio.wait_for(reader, 30)
    everything = [e.position for e in await store.read_after(0, 10_000)]
    assert seen == everything


async def test_replicas_migrating_one_schema_at_once_all_succeed_and_apply_it_once(dsn):
    from shared import eventstore
    from shared.db import create_pool, migrate, migration_files

    files = migration_files(eventstore.MIGRATIONS)
    pools = [await create_pool(dsn, "concurrent_migrate", max_size=1) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(migrate(p, "concurrent_migrate", files) for p in pools))
    finally:
        for pool in pools:
            await pool.close()
    assert sorted(len(names) for names in applied) == [0, 0, 0, len(files)]
