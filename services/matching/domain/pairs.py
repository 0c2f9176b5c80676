"""The life of a formed pair, free of I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.events import PairDissolved, PairFlagged

# The hard rules (domain/constraints.py) a formed pair can come to break when HR changes a member's profile, each
# with the fixed sentence that flags or dissolves the pair: it names the rule, never anything about the people.
RECHECKED_RULES = {
    "reporting_line": "one member is now in the other's reporting line (reporting_line rule)",
    "grade": "the mentor is no longer junior to the mentee (grade rule)",
}


@dataclass(frozen=True)
class Flag:
    rule: str
    reason: str
    flagged_at: datetime


@dataclass(frozen=True)
class Pair:
    pair_id: str
    program_id: str
    round_id: str
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: dict[str, float]
    status: str = "active"
    dissolve_reason: str | None = None
    version: int = 1
    flags: tuple[Flag, ...] = ()

    @property
    def stream_id(self) -> str:
        return f"pair-{self.pair_id}"

    def has_member(self, participant_id: str) -> bool:
        return participant_id in (self.mentor_id, self.mentee_id)

    def dissolve(self, reason: str) -> tuple[Pair, PairDissolved | None]:
        """Dissolving twice changes nothing; the members return to the pool for the next round."""
        if self.status == "dissolved":
            return self, None
        event = PairDissolved(program_id=self.program_id, pair_id=self.pair_id, reason=reason)
        return replace(self, status="dissolved", dissolve_reason=reason), event

    def flag(self, rule: str, at: datetime) -> tuple[Pair, PairFlagged | None]:
        """Mark an active pair as breaking `rule` for an admin to look at; flagging it twice changes nothing."""
        if self.status != "active" or any(f.rule == rule for f in self.flags):
            return self, None
        reason = RECHECKED_RULES[rule]
        event = PairFlagged(program_id=self.program_id, pair_id=self.pair_id, rule=rule, reason=reason)
        return replace(self, flags=(*self.flags, Flag(rule, reason, at))), event


def rules_broken(mentor: Mapping[str, Any], mentee: Mapping[str, Any]) -> list[str]:
    """Which of `RECHECKED_RULES` a pair breaks now, given both members' latest profiles (pool bodies)."""
    broken = []
    if mentor["participant_id"] in mentee.get("reporting_chain", ()) or mentee["participant_id"] in mentor.get(
        "reporting_chain", ()
    ):
        broken.append("reporting_line")
    if not mentor["grade"] < mentee["grade"]:
        broken.append("grade")
    return broken
