"""Demo employees put on HR's roster straight in enrolment's table, as the roster import leaves them: for tests
whose subject is not the import. The roster is the organisation's, shared by a run's tests, so an entry already
there is replaced, never duplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import asyncpg

from demo.organisation import Person


async def put_in_roster(dsn: str, people: Iterable[Person]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            """INSERT INTO enrolment.roster (employee_id, display_name, email, department, grade, manager_id,
                                             languages, time_zone, reporting_chain)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (employee_id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                   department = excluded.department, grade = excluded.grade, manager_id = excluded.manager_id,
                   languages = excluded.languages, time_zone = excluded.time_zone,
                   reporting_chain = excluded.reporting_chain, active = true""",
            [
                (
                    p.employee_id,
                    p.display_name,
                    p.email,
                    p.department,
                    p.grade,
                    p.manager,
                    p.languages,
                    p.time_zone,
                    p.chain,
                )
                for p in people
            ],
        )
    finally:
        await connection.close()


def put_in_roster_now(dsn: str, people: Iterable[Person]) -> None:
    """The same from synchronous code, even while Playwright's own event loop runs (a thread of its own)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, put_in_roster(dsn, list(people))).result()
