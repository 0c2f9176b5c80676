"""The eligible population HR imports (issue #14): one entry per employee, personal data kept only in enrolment.

A self-service enrolment takes what HR owns (name, e-mail, department, grade, reporting line) from the person's
roster entry, never from the person. Reporting chains are derived from manager ids, never typed.

An import is validated row by row: a bad row is reported (its data row number, the field, and what is wrong with
it, never the value: the value is personal data and a report travels to browsers and logs) and the good rows are
kept. Chains are derived over the whole roster as it will be after the import, so a row may name a manager that an
earlier import brought in; a row whose line up does not reach the top (a manager missing from the roster, a loop,
more than 50 levels) is rejected, and so are the rows under it, whose lines pass through it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.enrolment.domain.commands import Email
from services.enrolment.domain.model import Participant
from shared.events import ParticipantProfileUpdated
from shared.types import MAX_LIST_ITEMS, EmployeeId, Int, Labels, Text

MAX_CHAIN = MAX_LIST_ITEMS  # a ProfileFields.reporting_chain holds at most 50 managers
MAX_ROWS = 20_000
CSV_COLUMNS = ("employee_id", "display_name", "email", "department", "grade", "manager_id", "languages", "time_zone")
REQUIRED_CSV_COLUMNS = ("employee_id", "display_name", "email", "department", "grade")
_TIME_ZONES = frozenset(available_timezones())


@dataclass(frozen=True)
class RosterEntry:
    employee_id: str
    display_name: str
    email: str
    department: str
    grade: int
    manager_id: str | None = None
    languages: tuple[str, ...] = ()
    time_zone: str = "UTC"
    # The employee ids of the person's managers up the line, nearest first, derived from manager ids at import.
    reporting_chain: tuple[str, ...] = field(default=())
    active: bool = True
    # The identity provider's own login name when the entry came through SCIM (echoed back to it), else None.
    user_name: str | None = None
    # The employee's SCIM id, set when the entry is written: their legacy (`global`) pseudonym, as it always was, so
    # the identity provider's links stay valid. It is their participant id only in programs launched before
    # per-program pseudonyms (ADR 0011), and it is never in an event.
    pseudonym: str = ""


class RosterRow(BaseModel):
    """One row of an import, bounded as an enrolment's own fields are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: EmployeeId
    display_name: Annotated[str, Text(200, min_length=1, one_line=True)]
    email: Email
    department: Annotated[str, Text(100, min_length=1, one_line=True)]
    grade: Annotated[int, Int(0, 100)] = Field(description="Job grade; higher is more senior.")
    manager_id: EmployeeId | None = None
    languages: Labels = Field(default_factory=list)
    time_zone: Annotated[str, Text(64, min_length=1, one_line=True)] = "UTC"

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, zone: str) -> str:
        if zone not in _TIME_ZONES:
            raise ValueError("not a known IANA time zone")  # never the value: it is a person's data
        return zone

    def entry(self, chain: tuple[str, ...] = ()) -> RosterEntry:
        return RosterEntry(
            employee_id=self.employee_id,
            display_name=self.display_name,
            email=str(self.email),
            department=self.department,
            grade=self.grade,
            manager_id=self.manager_id or None,
            languages=tuple(self.languages),
            time_zone=self.time_zone,
            reporting_chain=chain,
        )


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based data row (the CSV header is not counted)
    field: str
    problem: str


# What a rejected row's report says per pydantic error type: fixed sentences, so no value ever leaks into it.
_PROBLEMS = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "less_than_equal": "is above the allowed range",
    "greater_than_equal": "is below the allowed range",
    "list_type": "must be a list",
    "too_long": "has too many items",
    "extra_forbidden": "is not a roster column",
}
_VALUE_PROBLEMS = {"email": "is not a valid e-mail address", "time_zone": "is not a known IANA time zone"}


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = error.get("loc") or ("row",)
    name = str(loc[0])
    if error["type"] == "value_error":
        return name, _VALUE_PROBLEMS.get(name, "is not valid (control characters or invalid text)")
    return name, _PROBLEMS.get(error["type"], "is not valid")


def validate_rows(rows: Sequence[Any]) -> tuple[list[tuple[int, RosterRow]], list[RowProblem]]:
    """Each row checked alone: the good ones with their row numbers, and one problem per bad row (its first)."""
    good: list[tuple[int, RosterRow]] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=1):
        if not isinstance(raw, Mapping):
            problems.append(RowProblem(number, "row", "must be an object"))
            continue
        try:
            row = RosterRow.model_validate(raw)
        except ValidationError as error:
            problems.append(RowProblem(number, *_problem(error.errors()[0])))
            continue
        if row.employee_id in seen:
            problems.append(RowProblem(number, "employee_id", "appears on an earlier row of this import"))
            continue
        if row.manager_id == row.employee_id:
            problems.append(RowProblem(number, "manager_id", "names the employee as their own manager"))
            continue
        seen.add(row.employee_id)
        good.append((number, row))
    return good, problems


class UnreadableCsv(ValueError):
    """The file is no CSV roster at all (not UTF-8, no header, required columns missing): nothing is imported."""


def parse_csv(data: bytes) -> list[dict[str, Any]]:
    """The rows of a CSV roster as the JSON import's rows: header names the columns, languages `;`-separated,
    an empty cell is a missing value. Grades stay text when they are not whole numbers, so the row is rejected
    naming `grade` rather than the whole file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableCsv("the file must be UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
    if missing:
        raise UnreadableCsv(f"the header row lacks the column(s) {', '.join(missing)}")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise UnreadableCsv(f"the header row names unknown column(s); known: {', '.join(CSV_COLUMNS)}")
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    for record in reader:
        if len(rows) >= MAX_ROWS:
            raise UnreadableCsv(f"at most {MAX_ROWS} rows per import")
        rows.append(_csv_row(record))
    return rows


def _csv_row(record: Mapping[str | None, Any]) -> dict[str, Any]:
    if None in record:  # more cells than columns: DictReader keeps the surplus under None
        return {"row": "surplus cells"}  # refused as an unknown column
    row: dict[str, Any] = {k: v.strip() for k, v in record.items() if k is not None and v is not None and v.strip()}
    if "grade" in row and row["grade"].lstrip("-").isdigit():
        row["grade"] = int(row["grade"])
    if "languages" in row:
        row["languages"] = [lang.strip() for lang in row["languages"].split(";") if lang.strip()]
    return row


# ------------------------------------------------------------------------------------------ reporting chains


@dataclass(frozen=True)
class Chain:
    """A derived reporting line: the managers up it, nearest first; `problem` when it does not reach the top, and
    `inherited` when the problem lies with a manager up the line rather than with this employee's own row."""

    managers: tuple[str, ...]
    problem: str | None = None
    inherited: bool = False


MISSING_MANAGER = "names a manager who is not in the roster"
CYCLE = "the reporting line loops back on itself"
TOO_DEEP = f"the reporting line is longer than {MAX_CHAIN} managers"
ABOVE = {
    MISSING_MANAGER: "a manager up the line names a manager who is not in the roster",
    CYCLE: "a manager up the line is in a reporting loop",
    TOO_DEEP: TOO_DEEP,
}


def derive_chains(managers: Mapping[str, str | None]) -> dict[str, Chain]:
    """Every employee's line up from `managers` (employee id -> manager id or None at the top), nearest first.

    Memoised walk: each employee's chain is their manager followed by the manager's chain, so the whole roster
    costs one visit per employee plus the copying of chains of at most 50."""
    chains: dict[str, Chain] = {}
    for start in managers:
        path: list[str] = []  # walked up from `start`, chains not known yet
        position: dict[str, int] = {}
        current = start
        while current not in chains:
            if current in position:  # a loop: its members have no top (those below it inherit the problem)
                for member in path[position[current] :]:
                    chains[member] = Chain((), CYCLE)
                del path[position[current] :]
                break
            position[current] = len(path)
            path.append(current)
            boss = managers[current]
            if boss is None or boss not in managers:
                chains[current] = Chain(()) if boss is None else Chain((boss,), MISSING_MANAGER)
                path.pop()
                break
            current = boss
        for employee in reversed(path):  # top down: each manager's chain is known before their reports'
            boss = managers[employee]
            assert boss is not None
            chains[employee] = _below(boss, chains[boss])
    return chains


def _below(manager: str, managers_chain: Chain) -> Chain:
    managers = (manager, *managers_chain.managers)[: MAX_CHAIN + 1]
    if managers_chain.problem is not None:
        return Chain(managers[:MAX_CHAIN], managers_chain.problem, inherited=True)
    if len(managers) > MAX_CHAIN:
        return Chain(managers[:MAX_CHAIN], TOO_DEEP)
    return Chain(managers)


def describe(chain: Chain) -> str:
    """The rejected row's problem: its own, or the one up its line."""
    assert chain.problem is not None
    return ABOVE[chain.problem] if chain.inherited else chain.problem


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes: the entries to write (new or changed, chains included) and the rejected rows."""

    entries: list[RosterEntry]
    accepted: int
    rejected: list[RowProblem]


def plan_import(rows: Sequence[Any], roster: Mapping[str, RosterEntry]) -> ImportPlan:
    """Validate `rows` against each other and the current `roster`, derive every chain over the result.

    A row whose line does not reach the top is rejected and the previous entry of that employee, if
    any, stays; that can mend or break the rows below it, so this repeats until no accepted row has a broken line.
    Entries outside the import whose chain changes (a manager of theirs moved) are written too."""
    good, rejected = validate_rows(rows)
    accepted = dict(good)
    while True:
        merged = dict(roster)
        merged.update({row.employee_id: row.entry() for row in accepted.values()})
        chains = derive_chains({e.employee_id: e.manager_id for e in merged.values()})
        broken = [n for n, row in accepted.items() if chains[row.employee_id].problem]
        if not broken:
            break
        # Rows at fault first: once they are out (their earlier entries back), the rows below may hold again.
        at_fault = [n for n in broken if not chains[accepted[n].employee_id].inherited] or broken
        for n in at_fault:
            rejected.append(RowProblem(n, "manager_id", describe(chains[accepted.pop(n).employee_id])))
    imported = {row.employee_id for row in accepted.values()}
    entries = []
    for employee_id, entry in merged.items():
        chain = chains[employee_id].managers
        if employee_id in imported:
            entries.append(replace(entry, reporting_chain=chain, active=True, user_name=_kept_user_name(roster, entry)))
        elif chain != entry.reporting_chain:
            entries.append(replace(entry, reporting_chain=chain))
    return ImportPlan(entries, len(accepted), sorted(rejected, key=lambda p: p.row))


def _kept_user_name(roster: Mapping[str, RosterEntry], entry: RosterEntry) -> str | None:
    before = roster.get(entry.employee_id)
    return before.user_name if before else entry.user_name


def rechain(roster: Mapping[str, RosterEntry], changed: Iterable[RosterEntry]) -> list[RosterEntry]:
    """`changed` (written by SCIM, one at a time) and every other entry whose chain follows from it, chains derived.

    An identity provider provisions people in any order, so a manager not provisioned yet leaves the chain
    partial rather than refusing the person; provisioning the manager completes it."""
    merged = dict(roster)
    merged.update({e.employee_id: e for e in changed})
    chains = derive_chains({e.employee_id: e.manager_id for e in merged.values()})
    written = {e.employee_id for e in changed}
    return [
        replace(e, reporting_chain=chains[e.employee_id].managers)
        for e in merged.values()
        if e.employee_id in written or chains[e.employee_id].managers != e.reporting_chain
    ]


# ------------------------------------------------------------------------------------- enrolled participants


def follow_roster(
    participant: Participant, entry: RosterEntry, key: str
) -> tuple[Participant, ParticipantProfileUpdated | None]:
    """An active participant after HR's entry changed: personal details follow silently; a change of department,
    grade or reporting line (what matching's rules read) is published, the chain as pseudonyms as enrol does."""
    followed = replace(participant, display_name=entry.display_name, email=entry.email)
    profile = participant.profile.model_copy(
        update={
            "department": entry.department,
            "grade": entry.grade,
            "reporting_chain": tuple(participant.pseudonym_of(key, e) for e in entry.reporting_chain),
        }
    )
    if profile == participant.profile:
        return followed, None
    return replace(followed, profile=profile), ParticipantProfileUpdated(**profile.model_dump())
