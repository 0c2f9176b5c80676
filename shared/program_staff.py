"""Per-program roles (issue #14): who runs and who sponsors each program, and the FastAPI dependencies that check a
caller against them.

A program names its identity-provider groups at launch (ProgramLaunched's `admin_groups` and `sponsor_groups`;
shared.auth.ProgramStaff holds them and the rules). Each service reads them through a `ProgramStaffReader`:
matching from its pool's launches, insights from its programs facts, and a service that keeps no launch of its own
(sessions) from the `program_staff` table that `ProgramStaffProjection` builds from ProgramLaunched.

A route taking a program id declares its rule with `program_role("administers" | "oversees", reader)`: the caller
must hold a staff role (else 403), the program must be known (else 404), and the caller must run it (writes) or
oversee it (program-wide reads: its admins, its sponsors, auditors), else 403. A program unknown to a service is
never treated as "no admin groups": a launch still on its way does not open a program to every admin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

import asyncpg
from fastapi import Depends, Path
from pydantic import BaseModel, Field

from shared.auth import ROLES, Principal, ProgramStaff, authenticated, require
from shared.db import SHARED_SQL, check_identifier
from shared.envelope import Envelope
from shared.errors import Forbidden, NotFound
from shared.events import ProgramLaunched, ProgramSettingsChanged
from shared.projection import Projection, on
from shared.types import Identifier

MIGRATIONS = SHARED_SQL / "program_staff"
Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
Rule = Literal["administers", "oversees"]
STAFF_ROLES = ("program_admin", "executive_sponsor", "auditor")


class ProgramStaffReader(ABC):
    """Where a service finds each program's staff."""

    @abstractmethod
    async def get(self, program_id: str) -> ProgramStaff | None:
        """The program's staff, or None for a program this service has not heard of."""

    @abstractmethod
    async def all(self) -> dict[str, ProgramStaff]:
        """Every known program's staff (programs number in the tens: `GET /me` reads them all)."""


class PostgresProgramStaff(ProgramStaffReader):
    """Over a table with `program_id`, `admin_groups text[]` and `sponsor_groups text[]` columns: `program_staff`
    here, insights' `programs`."""

    def __init__(self, conn: Conn, table: str = "program_staff"):
        self.conn, self.table = conn, check_identifier(table)

    async def get(self, program_id: str) -> ProgramStaff | None:
        row = await self.conn.fetchrow(
            f"SELECT admin_groups, sponsor_groups FROM {self.table} WHERE program_id = $1", program_id
        )
        return ProgramStaff.of(row["admin_groups"], row["sponsor_groups"]) if row else None

    async def all(self) -> dict[str, ProgramStaff]:
        rows = await self.conn.fetch(f"SELECT program_id, admin_groups, sponsor_groups FROM {self.table}")
        return {r["program_id"]: ProgramStaff.of(r["admin_groups"], r["sponsor_groups"]) for r in rows}


class InMemoryProgramStaff(ProgramStaffReader):
    def __init__(self, staff: Mapping[str, ProgramStaff] | None = None):
        self.staff = staff if staff is not None else {}  # shared, not copied: a unit of work's state

    async def get(self, program_id: str) -> ProgramStaff | None:
        return self.staff.get(program_id)

    async def all(self) -> dict[str, ProgramStaff]:
        return dict(self.staff)


def staff_of_launch(launched: Mapping[str, Any]) -> ProgramStaff:
    """The staff a ProgramLaunched body names (a launch recorded before #14 names none)."""
    return ProgramStaff.of(launched.get("admin_groups") or (), launched.get("sponsor_groups") or ())


async def record(conn: Conn, event: ProgramLaunched) -> None:
    """First launch wins, as for matching's pool: a second ProgramLaunched with the same id, forged or replayed,
    must not hand a running program to other groups."""
    await conn.execute(
        """INSERT INTO program_staff (program_id, admin_groups, sponsor_groups) VALUES ($1, $2, $3)
           ON CONFLICT (program_id) DO NOTHING""",
        event.program_id,
        list(event.admin_groups),
        list(event.sponsor_groups),
    )


class ProgramStaffProjection(Projection):
    """The `program_staff` table, for a service whose other read models do not see ProgramLaunched."""

    name = "program-staff"
    migrations = MIGRATIONS

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        await record(conn, event)

    @on(ProgramSettingsChanged)
    async def settings_changed(
        self, conn: asyncpg.Connection, event: ProgramSettingsChanged, envelope: Envelope
    ) -> None:
        await record_change(conn, event)


async def record_change(conn: Conn, event: ProgramSettingsChanged) -> None:
    """A program's admins may hand it to other groups (issue #15); a program launched nowhere stays unknown."""
    await conn.execute(
        "UPDATE program_staff SET admin_groups = $2, sponsor_groups = $3 WHERE program_id = $1",
        event.program_id,
        list(event.admin_groups),
        list(event.sponsor_groups),
    )


def allows(principal: Principal, rule: Rule, staff: ProgramStaff) -> bool:
    return principal.administers(staff) if rule == "administers" else principal.oversees(staff)


REFUSALS: dict[Rule, str] = {
    "administers": "not an admin of this program",
    "oversees": "neither an admin, a sponsor nor an auditor of this program",
}


async def check(principal: Principal, rule: Rule, reader: ProgramStaffReader, program_id: str) -> ProgramStaff:
    """The program's staff, if `principal` passes `rule` on it: 403 for a caller without a staff role or outside
    the program's groups, 404 for a program unknown here."""
    if not principal.has(*(("program_admin",) if rule == "administers" else STAFF_ROLES)):
        raise Forbidden(REFUSALS[rule])
    staff = await reader.get(program_id)
    if staff is None:
        raise NotFound(f"no program {program_id}")
    if not allows(principal, rule, staff):
        raise Forbidden(REFUSALS[rule])
    return staff


def program_role(rule: Rule, reader: Callable[..., Any]) -> Callable[..., Any]:
    """Dependency for a route with a `{program_id}` path parameter: the caller, if it passes `rule` on that program.
    `reader` is the service's dependency giving its ProgramStaffReader."""

    # `staff` as a default, not Annotated: under postponed annotations FastAPI resolves names in the module's
    # globals, where `reader`, a closure variable, is not.
    async def dependency(
        program_id: Annotated[Identifier, Path()],
        principal: Annotated[Principal, Depends(authenticated)],
        staff: ProgramStaffReader = Depends(reader),  # noqa: B008 (see above)
    ) -> Principal:
        await check(principal, rule, staff, program_id)
        return principal

    return dependency


@dataclass(frozen=True)
class ProgramsOf:
    """The programs a caller runs and those it sponsors."""

    administers: list[str]
    sponsors: list[str]

    def oversees(self, principal: Principal, every_program: Iterable[str]) -> list[str]:
        """Auditors oversee every program; admins and sponsors their own."""
        if "auditor" in principal.roles:
            return sorted(every_program)
        return sorted({*self.administers, *self.sponsors})


async def programs_of(principal: Principal, reader: ProgramStaffReader) -> tuple[ProgramsOf, list[str]]:
    """What the caller administers and sponsors, and every known program id (for auditors)."""
    if not principal.has(*STAFF_ROLES):
        return ProgramsOf([], []), []
    every = await reader.all()
    return (
        ProgramsOf(
            administers=sorted(p for p, staff in every.items() if principal.administers(staff)),
            sponsors=sorted(p for p, staff in every.items() if principal.sponsors(staff)),
        ),
        sorted(every),
    )


# `GET /me` answers any caller holding a known role (one with none is refused everywhere, as on every endpoint).
AnyRole = Annotated[Principal, Depends(require(*ROLES))]


class Me(BaseModel):
    """`GET /me`'s common part in every service (each adds what it keeps for the caller)."""

    participant_id: str | None = Field(
        description="The caller's participant id where no program is at hand: from its employee-id claim its legacy "
        "id (programs launched before per-program pseudonyms), else its token's subject; null for a caller that is "
        "no participant (a script's or staff member's token without an employee id). Its id in a program launched "
        "since (ADR 0011) differs per program: each pair, enrolment or proposal listed names it."
    )
    roles: list[str]
    administers: list[str] = Field(description="Ids of the programs the caller runs.")
    sponsors: list[str] = Field(description="Ids of the programs the caller sponsors as an executive sponsor.")


async def my_ids(principal: Principal, reader: ProgramStaffReader) -> frozenset[str]:
    """The caller's participant ids in every program the service knows (ADR 0011): to find what is its own across
    programs in one query."""
    return principal.ids_in(*await reader.all())


def participant_id(principal: Principal) -> str | None:
    return principal.subject if principal.employee_id or "participant" in principal.roles else None


async def me(principal: Principal, reader: ProgramStaffReader) -> tuple[Me, list[str]]:
    """The caller's common `GET /me` fields, and the ids of the programs it oversees."""
    programs, every = await programs_of(principal, reader)
    common = Me(
        participant_id=participant_id(principal),
        roles=sorted(principal.roles),
        administers=programs.administers,
        sponsors=programs.sponsors,
    )
    return common, programs.oversees(principal, every)


async def permits(principal: Principal, rule: Rule, reader: ProgramStaffReader, program_id: str) -> bool:
    """Whether `principal` passes `rule` on the program (an unknown program permits no admin or sponsor; auditors
    oversee every program, known here yet or not)."""
    if rule == "oversees" and "auditor" in principal.roles:
        return True
    staff = await reader.get(program_id) if principal.has(*STAFF_ROLES) else None
    return staff is not None and allows(principal, rule, staff)


async def may_reach_pair(
    principal: Principal, rule: Rule, reader: ProgramStaffReader, program_id: str, *members: str
) -> bool:
    """A pair's own members (as participants) reach it; others by `rule` on the pair's program."""
    if principal.is_participant(program_id, *members):
        return True
    return await permits(principal, rule, reader, program_id)
