"""The roster's HTTP API under /enrolment/v1: HR imports the eligible population as JSON or CSV (issue #14)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile
from pydantic import BaseModel, Field

from services.enrolment.domain import roster as domain
from services.enrolment.entrypoints.http import PseudonymKey, Uow
from services.enrolment.service_layer import roster
from shared.auth import Admin
from shared.errors import Invalid
from shared.types import MAX_PAGE

router = APIRouter(tags=["roster"])

# A CSV of 20 000 rows of bounded fields stays well under this; more is no roster.
MAX_CSV_BYTES = 20 * 1024 * 1024


class RosterImport(BaseModel):
    rows: list[dict[str, Any]] = Field(
        max_length=domain.MAX_ROWS,
        description="One object per employee: employee_id, display_name, email, department, grade (0-100), "
        "manager_id (null at the top), languages, time_zone (IANA). Each row is checked alone: a bad row is "
        "reported and the others are kept.",
    )


class RejectedRow(BaseModel):
    row: int = Field(description="1-based data row (a CSV's header row is not counted).")
    field: str
    problem: str = Field(description="What is wrong with the field; never its value.")


class ImportReport(BaseModel):
    import_id: str
    accepted: int
    rejected: list[RejectedRow]
    participants_updated: int = Field(description="Enrolled people whose department, grade or line changed.")


class RosterEntryView(BaseModel):
    employee_id: str
    display_name: str
    email: str
    department: str
    grade: int
    manager_id: str | None
    languages: list[str]
    time_zone: str
    reporting_chain: list[str] = Field(description="Employee ids up the line, nearest first (derived).")
    active: bool


@router.post("/roster", response_model=ImportReport)
async def import_roster(body: RosterImport, _: Admin, uow: Uow, key: PseudonymKey) -> ImportReport:
    return _report(await roster.import_roster(uow, body.rows, key))


@router.post("/roster/csv", response_model=ImportReport)
async def import_roster_csv(file: UploadFile, _: Admin, uow: Uow, key: PseudonymKey) -> ImportReport:
    """The same import as a CSV file (multipart field `file`): a header row naming the columns, languages
    separated by `;`, an empty cell for no manager."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise Invalid("file", f"the file must be at most {MAX_CSV_BYTES // (1024 * 1024)} MiB")
    try:
        rows = domain.parse_csv(data)
    except domain.UnreadableCsv as error:
        raise Invalid("file", str(error)) from None
    return _report(await roster.import_roster(uow, rows, key))


@router.get("/roster", response_model=list[RosterEntryView])
async def list_roster(
    _: Admin,
    uow: Uow,
    response: Response,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RosterEntryView]:
    """A page of the roster by employee id; `X-Total-Count` says how many entries there are."""
    found, total = await roster.entries(uow, (page - 1) * page_size, page_size)
    response.headers["X-Total-Count"] = str(total)
    return [
        RosterEntryView(
            employee_id=e.employee_id,
            display_name=e.display_name,
            email=e.email,
            department=e.department,
            grade=e.grade,
            manager_id=e.manager_id,
            languages=list(e.languages),
            time_zone=e.time_zone,
            reporting_chain=list(e.reporting_chain),
            active=e.active,
        )
        for e in found
    ]


def _report(report: roster.ImportReport) -> ImportReport:
    return ImportReport(
        import_id=report.import_id,
        accepted=report.accepted,
        rejected=[RejectedRow(row=p.row, field=p.field, problem=p.problem) for p in report.rejected],
        participants_updated=report.participants_updated,
    )
