"""The connection a projection's handlers see in a batch (shared/pipeline.py): writes are queued and consecutive
ones with the same SQL sent as one executemany, in the order issued; reads, savepoints and the end of the batch
send what is queued first, and a rolled-back savepoint's writes are never sent."""

from __future__ import annotations

from typing import Any

import pytest

from shared.pipeline import PipelinedConnection


class RecordingConnection:
    """Stands in for asyncpg.Connection: records what reaches the server, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.sent.append(("execute", (sql, args)))
        return "OK"

    async def executemany(self, sql: str, rows: list) -> None:
        self.sent.append(("executemany", (sql, rows)))

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.sent.append(("fetchval", (sql, args)))
        return 7

    def transaction(self) -> RecordingTransaction:
        return RecordingTransaction(self)


class RecordingTransaction:
    def __init__(self, conn: RecordingConnection):
        self.conn = conn

    async def __aenter__(self) -> None:
        self.conn.sent.append(("savepoint", None))

    async def __aexit__(self, kind, error, traceback) -> None:
        self.conn.sent.append(("rollback" if kind else "release", None))


async def test_consecutive_writes_of_one_statement_become_one_pipeline_and_order_is_kept():
    raw = RecordingConnection()
    conn = PipelinedConnection(raw)  # type: ignore[arg-type]
    for i in range(3):
        assert await conn.execute("INSERT a", i) == ""
    await conn.execute("UPDATE b", 9)
    await conn.executemany("INSERT a", [(3,), (4,)])
    assert raw.sent == [], "nothing is sent before it must be"
    await conn.flush()
    assert raw.sent == [
        ("executemany", ("INSERT a", [(0,), (1,), (2,)])),
        ("execute", ("UPDATE b", (9,))),
        ("executemany", ("INSERT a", [(3,), (4,)])),
    ]
    assert conn.pipelines == 3


async def test_a_read_sends_the_queued_writes_first_so_a_handler_reads_its_own_writes():
    raw = RecordingConnection()
    conn = PipelinedConnection(raw)  # type: ignore[arg-type]
    await conn.execute("INSERT a", 1)
    assert await conn.fetchval("SELECT count(*) FROM a") == 7
    assert [kind for kind, _ in raw.sent] == ["execute", "fetchval"]


async def test_a_statement_without_arguments_runs_at_once_after_the_queue():
    raw = RecordingConnection()
    conn = PipelinedConnection(raw)  # type: ignore[arg-type]
    await conn.execute("INSERT a", 1)
    assert await conn.execute("SET LOCAL x = 1; SELECT 1") == "OK"
    assert raw.sent == [("execute", ("INSERT a", (1,))), ("execute", ("SET LOCAL x = 1; SELECT 1", ()))]


async def test_a_savepoint_sends_its_writes_before_release_and_drops_them_on_rollback():
    raw = RecordingConnection()
    conn = PipelinedConnection(raw)  # type: ignore[arg-type]
    await conn.execute("INSERT before", 1)
    async with conn.transaction():
        await conn.execute("INSERT kept", 2)
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await conn.execute("INSERT undone", 3)
            raise RuntimeError("the handler refuses")
    await conn.flush()
    assert raw.sent == [
        ("execute", ("INSERT before", (1,))),
        ("savepoint", None),
        ("execute", ("INSERT kept", (2,))),
        ("release", None),
        ("savepoint", None),
        ("rollback", None),
    ]


async def test_a_write_that_fails_when_sent_rolls_its_savepoint_back():
    class Refusing(RecordingConnection):
        async def execute(self, sql: str, *args: Any) -> str:
            if "bad" in sql:
                raise ValueError("refused by the server")
            return await super().execute(sql, *args)

    raw = Refusing()
    conn = PipelinedConnection(raw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        async with conn.transaction():
            await conn.execute("INSERT bad", 1)  # queued: the error comes when the savepoint sends it
    assert raw.sent == [("savepoint", None), ("rollback", None)]
