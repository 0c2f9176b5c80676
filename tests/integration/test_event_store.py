import asyncio

import asyncpg
import pytest

from shared.eventstore import LOG_START, StoredEvent
from tests.contracts.event_store import EventStoreContract, events
from tests.support.kafka_log import wait_until


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
    """Appends to different streams run in parallel now (no store-wide lock): the follower's cursor is the log
    position (log_xid, position) and it reads below the visibility horizon, so every commit is seen, once, in order."""
    store = await store_factory("es_follow")
    writers, appends_each = 4, 60
    seen: list[int] = []
    done = asyncio.Event()

    async def write(w: int) -> None:
        for i in range(appends_each):
            await store.append(f"w{w}-{i}", 0, events(f"w{w}-{i}", 1))

    async def follow() -> None:
        cursor = LOG_START
        while not done.is_set() or len(seen) < writers * appends_each:
            batch = await store.read_log(cursor, 50)
            seen.extend(e.position for e in batch)
            cursor = batch[-1].log_position if batch else cursor
            await asyncio.sleep(0)

    reader = asyncio.create_task(follow())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await asyncio.wait_for(reader, 30)
    everything = [e.position for e in sorted(await store.read_after(0, 10_000), key=lambda e: e.log_position)]
    assert seen == everything


def followed(store, count: int, cursor=LOG_START):
    """A predicate for wait_until: the follower's view once it holds `count` events."""

    async def check() -> list[StoredEvent] | None:
        events = await read_all(store, cursor)
        return events if len(events) >= count else None

    return check


async def read_all(store, cursor=LOG_START) -> list[StoredEvent]:
    """The follower's view now; other transactions of the cluster may hold the horizon back briefly, never for good."""
    out: list[StoredEvent] = []
    while batch := await store.read_log(cursor, 1000):
        out += batch
        cursor = batch[-1].log_position
    return out


async def test_a_commit_behind_an_open_transaction_waits_until_that_one_ends(store_factory):
    store = await store_factory("es_open_tx")
    async with store.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        early = await store.append("early", 0, events("early", 1), conn=conn)  # the lower position, not committed
        late = await store.append("late", 0, events("late", 1))  # the higher position, committed first
        assert late.first_position > early.first_position
        assert [e.position for e in await read_all(store)] == []  # reading `late` now would skip `early` later
        await tx.commit()
    both = await wait_until(followed(store, 2), 30, what="both events below the horizon")
    assert [e.position for e in both] == [early.first_position, late.first_position]


async def test_an_older_transaction_committing_a_later_position_first_does_not_make_the_follower_skip(store_factory):
    """The trap a position cursor falls into: transaction C got its id before A (it wrote something first), A took the
    lower position, C the higher one and committed; C is below the horizon while A is still open."""
    store = await store_factory("es_inversion")
    async with store.pool.acquire() as c_conn, store.pool.acquire() as a_conn:
        c_tx, a_tx = c_conn.transaction(), a_conn.transaction()
        await c_tx.start()
        await a_tx.start()
        await c_conn.fetchval("SELECT pg_current_xact_id()")  # C's id is assigned first
        a = await store.append("a", 0, events("a", 1), conn=a_conn)
        c = await store.append("c", 0, events("c", 1), conn=c_conn)
        await c_tx.commit()
        assert c.first_position > a.first_position
        first = await wait_until(followed(store, 1), 30, what="C's event below the horizon")
        assert [e.position for e in first] == [c.first_position]
        await a_tx.commit()
    rest = await wait_until(followed(store, 1, first[-1].log_position), 30, what="A's event below the horizon")
    assert [e.position for e in rest] == [a.first_position]


async def test_a_streams_versions_stay_in_log_order_when_an_older_transaction_appends_after_a_younger_one(
    store_factory,
):
    store = await store_factory("es_stream_order")
    async with store.pool.acquire() as old_conn:
        old_tx = old_conn.transaction()
        await old_tx.start()
        await old_conn.fetchval("SELECT pg_current_xact_id()")  # the older transaction id
        await store.append("s", 0, events("s", 1))  # a younger transaction writes version 1 and commits
        await store.append("s", None, events("s", 1), conn=old_conn)  # the older one appends version 2 after it
        await old_tx.commit()
    both = await wait_until(followed(store, 2), 30, what="both versions below the horizon")
    assert [e.version for e in both] == [1, 2]


async def test_appends_to_different_streams_do_not_wait_for_each_other(store_factory):
    store = await store_factory("es_parallel")
    async with store.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append("one", 0, events("one", 1), conn=conn)
        # With a store-wide lock this append would wait for the open transaction above and time out.
        await asyncio.wait_for(store.append("two", 0, events("two", 1)), 5)
        await tx.rollback()


async def test_appends_without_an_expected_version_to_one_stream_queue_instead_of_conflicting(store_factory):
    store = await store_factory("es_queue")
    await asyncio.gather(*(store.append("pair", None, events("pair", 1)) for _ in range(8)))
    assert [e.version for e in await store.read_stream("pair")] == list(range(1, 9))


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


async def test_a_transaction_open_in_another_database_does_not_hold_the_follower_back(store_factory, dsn):
    """Transaction ids are cluster-wide, but only a backend of this database can write this store."""
    store = await store_factory("es_other_db")
    elsewhere = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/tandem")
    try:
        async with elsewhere.transaction():
            await elsewhere.fetchval("SELECT pg_current_xact_id()")  # older than the append below, still running
            appended = await store.append("s", 0, events("s", 1))
            seen = await wait_until(followed(store, 1), 30, what="the event below the horizon")
            assert [e.position for e in seen] == [appended.first_position]
    finally:
        await elsewhere.close()
