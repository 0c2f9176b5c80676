"""An admin's manual pair (issue #15), held to every hard rule a round keeps (domain/constraints.py), free of I/O.

Each broken rule is reported with the field it concerns and a sentence naming only pseudonymous participant ids
and the rule: never a name, a grade or a manager."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from services.matching.domain import constraints, rounds
from services.matching.domain.pairs import Pair


@dataclass(frozen=True)
class RuleBroken:
    field: str  # mentor_id | mentee_id
    rule: str
    message: str


def manual_pair_breaks(
    mentor_id: str,
    mentee_id: str,
    mentor_profile: dict[str, Any] | None,
    mentee_profile: dict[str, Any] | None,
    taken: Sequence[Pair],
    excluded: Collection[frozenset[str]],
    ended: Collection[frozenset[str]],
) -> list[RuleBroken]:
    """The rules (mentor, mentee) would break: `taken` are the program's active and proposed pairs, `excluded` the
    admin's exclusions, `ended` the couples never paired again (dissolved, declined, completed)."""
    broken: list[RuleBroken] = []
    if mentor_id == mentee_id:
        return [RuleBroken("mentee_id", "self", "a participant cannot be paired with themself")]
    for field, pid, profile in (("mentor_id", mentor_id, mentor_profile), ("mentee_id", mentee_id, mentee_profile)):
        if profile is None:
            broken.append(RuleBroken(field, "not_in_pool", f"{pid} is not an active participant of the program"))
    if mentor_profile is None or mentee_profile is None:
        return broken
    mentor, mentee = rounds.candidate(mentor_profile), rounds.candidate(mentee_profile)
    couple = frozenset((mentor_id, mentee_id))
    if not constraints.check_roles(mentor, mentee):
        field = "mentor_id" if mentor.role not in ("mentor", "both") else "mentee_id"
        broken.append(RuleBroken(field, "role", f"{mentor_id} must enrol as mentor and {mentee_id} as mentee"))
    if not constraints.check_mentor_is_junior(mentor, mentee):
        broken.append(RuleBroken("mentee_id", "grade", f"the mentor {mentor_id} is not junior to {mentee_id}"))
    if not constraints.check_common_language(mentor, mentee):
        broken.append(RuleBroken("mentee_id", "language", f"{mentor_id} and {mentee_id} share no language"))
    if not constraints.check_outside_reporting_line(mentor, mentee):
        broken.append(
            RuleBroken("mentee_id", "reporting_line", f"{mentor_id} and {mentee_id} are in one reporting line")
        )
    if couple in excluded:
        broken.append(RuleBroken("mentee_id", "excluded", f"an admin excluded {mentor_id} with {mentee_id}"))
    if couple in ended:
        broken.append(
            RuleBroken("mentee_id", "dissolved", f"{mentor_id} and {mentee_id} were paired or proposed before")
        )
    broken += _places(mentor_id, mentee_id, mentor.capacity, taken)
    return broken


def _places(mentor_id: str, mentee_id: str, capacity: int, taken: Sequence[Pair]) -> list[RuleBroken]:
    broken = []
    if any(p.mentee_id == mentee_id for p in taken):
        broken.append(RuleBroken("mentee_id", "already_paired", f"{mentee_id} already has a mentor or a proposal"))
    elif any(p.mentor_id == mentee_id for p in taken):
        broken.append(RuleBroken("mentee_id", "already_paired", f"{mentee_id} plays the mentor side in a pair"))
    if any(p.mentee_id == mentor_id for p in taken):
        broken.append(RuleBroken("mentor_id", "already_paired", f"{mentor_id} plays the mentee side in a pair"))
    elif sum(p.mentor_id == mentor_id for p in taken) >= capacity:
        broken.append(RuleBroken("mentor_id", "capacity", f"{mentor_id} has no place left (capacity {capacity})"))
    return broken
