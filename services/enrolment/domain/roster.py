"""The eligible population HR imports (issue #14): one entry per employee, personal data kept only in enrolment.

A self-service enrolment takes what HR owns (name, e-mail, department, grade, reporting line) from the person's
roster entry, never from the person. Reporting chains are derived from manager ids, never typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
