"""Insights' HTTP API under /insights/v1: read-only, for those who oversee a program: its admins, its executive
sponsors, auditors (issue #14)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field

from services.insights.domain.report import Overview, PairRow, ProgramReport, ProgramSummary
from services.insights.service_layer import queries
from shared import program_staff
from shared.auth import Principal, require
from shared.http import provided
from shared.types import Identifier, Instant

router = APIRouter(tags=["insights"])
AsOf = Annotated[
    Instant | None,
    Query(
        description="ISO 8601 instant from 2000 to 2100; only facts with event time at or before it count. "
        "Default: now (UTC)."
    ),
]


async def service(request: Request) -> queries.Insights:
    return provided(request, service)


Service = Annotated[queries.Insights, Depends(service)]


def staff(svc: Service) -> program_staff.ProgramStaffReader:
    """The groups each program's launch named, kept beside its other facts (the `programs` table)."""
    return program_staff.PostgresProgramStaff(svc.pool, table="programs")


Staff = Annotated[program_staff.ProgramStaffReader, Depends(staff)]
ProgramOverseer = Annotated[Principal, Depends(program_staff.program_role("oversees", staff))]
StaffMember = Annotated[Principal, Depends(require(*program_staff.STAFF_ROLES))]


class Me(program_staff.Me):
    oversees: list[str] = Field(description="Ids of the programs whose figures the caller reads.")


def instant(as_of: datetime | None) -> datetime:
    """The requested instant; one without a time zone is read as UTC."""
    if as_of is None:
        return datetime.now(UTC)
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)


@router.get("/me", response_model=Me)
async def me(principal: program_staff.AnyRole, reader: Staff) -> Me:
    """Who the caller is here: its participant id, roles, the programs it runs, sponsors and oversees."""
    common, oversees = await program_staff.me(principal, reader)
    return Me(**common.model_dump(), oversees=oversees)


@router.get("/programs", response_model=list[ProgramSummary])
async def list_programs(principal: StaffMember, reader: Staff, svc: Service) -> list[ProgramSummary]:
    """The programs the caller oversees."""
    _, oversees = await program_staff.me(principal, reader)
    return [p for p in await queries.programs(svc) if p.program_id in set(oversees)]


@router.get("/overview", response_model=Overview)
async def overview(principal: StaffMember, reader: Staff, svc: Service, as_of: AsOf = None) -> Overview:
    """One row of headline figures per program the caller oversees (its admins, its sponsors; auditors: all)."""
    _, oversees = await program_staff.me(principal, reader)
    return await queries.overview(svc, oversees, instant(as_of))


@router.get("/programs/{program_id}/report", response_model=ProgramReport)
async def report(program_id: Identifier, _: ProgramOverseer, svc: Service, as_of: AsOf = None) -> ProgramReport:
    return await queries.report(svc, program_id, instant(as_of))


@router.get("/programs/{program_id}/pairs", response_model=list[PairRow])
async def pairs(program_id: Identifier, _: ProgramOverseer, svc: Service, as_of: AsOf = None) -> list[PairRow]:
    return await queries.pair_rows(svc, program_id, instant(as_of))


@router.get(
    "/programs/{program_id}/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
async def export_csv(program_id: Identifier, _: ProgramOverseer, svc: Service, as_of: AsOf = None) -> Response:
    rows = await queries.pair_rows(svc, program_id, instant(as_of))
    filename = re.sub(r"[^A-Za-z0-9_.-]", "_", f"insights-{program_id}-pairs.csv")
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def to_csv(rows: list[PairRow]) -> str:
    """One line per pair under a header of PairRow's fields; empty for null, `;` between risk reasons."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PairRow.model_fields)
    for row in rows:
        writer.writerow(_cell(value) for value in row.model_dump(mode="json").values())
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ";".join(map(str, value))
    return str(value)
