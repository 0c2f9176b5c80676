"""The life of a pair, free of I/O: proposed (waiting for its members' answers, issue #15), then active, and at the
end dissolved or completed; a proposal that is not accepted is declined or expires instead.

    proposed --accept (mode met)--> active --dissolve--> dissolved
    proposed --decline--> declined      active --PairCompleted (sessions)--> completed
    proposed --expires_at passed--> expired
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from shared.errors import Conflict, Forbidden
from shared.events import (
    AcceptanceMode,
    DeclineReason,
    Event,
    PairDissolved,
    PairFlagged,
    PairFormed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
)

PairStatus = Literal["proposed", "active", "dissolved", "declined", "expired", "completed"]
Answer = Literal["accepted", "declined"]
Origin = Literal["round", "manual"]
# Members of these pairs are out of the pool: a round neither pairs them elsewhere nor counts their place as free.
TAKEN = ("active", "proposed")
# Couples of these pairs are never proposed again (the engine's history rule): a dissolved pair, a declined
# proposal, a partnership that ran its course. An expired proposal is not held against anyone.
ENDED_FOR_GOOD = ("dissolved", "declined", "completed")

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
    status: PairStatus = "active"
    dissolve_reason: str | None = None
    version: int = 1
    flags: tuple[Flag, ...] = ()
    origin: Origin = "round"
    acceptance_mode: AcceptanceMode = "immediate"
    proposed_at: datetime | None = None
    expires_at: datetime | None = None
    mentor_answer: Answer | None = None
    mentee_answer: Answer | None = None
    engine_version: str = ""
    inputs_hash: str = ""

    @property
    def stream_id(self) -> str:
        return f"pair-{self.pair_id}"

    def has_member(self, participant_id: str) -> bool:
        return participant_id in (self.mentor_id, self.mentee_id)

    def role_of(self, participant_id: str) -> Literal["mentor", "mentee"]:
        if not self.has_member(participant_id):
            raise Forbidden("only the pair's members answer its proposal")
        return "mentor" if participant_id == self.mentor_id else "mentee"

    def answer_of(self, participant_id: str) -> Answer | None:
        return self.mentor_answer if self.role_of(participant_id) == "mentor" else self.mentee_answer

    def partner_of(self, participant_id: str) -> str:
        return self.mentee_id if self.role_of(participant_id) == "mentor" else self.mentor_id

    def formed(self) -> PairFormed:
        """The pair starts: what sessions and insights hear, the same for a round's, a proposal's, a manual pair."""
        return PairFormed(
            program_id=self.program_id,
            pair_id=self.pair_id,
            round_id=self.round_id,
            mentor_id=self.mentor_id,
            mentee_id=self.mentee_id,
            score=self.score,
            breakdown=self.breakdown,
            engine_version=self.engine_version,
            inputs_hash=self.inputs_hash,
            origin=self.origin,
            proposed_at=self.proposed_at,
        )

    def accept(self, participant_id: str, now: datetime) -> tuple[Pair, list[Event]]:
        """A member accepts; the pair starts once its acceptance mode is met (one member for `one_side`, both for
        `both`). Accepting again changes nothing; a member of a `one_side` pair its partner already started may
        still say yes, for the record."""
        mine = self.answer_of(participant_id)
        if mine == "accepted":
            return self, []
        accepted = ProposalAccepted(program_id=self.program_id, pair_id=self.pair_id, participant_id=participant_id)
        if self.status == "active" and self.proposed_at is not None and mine is None:
            return self._answered(participant_id, "accepted"), [accepted]
        self._check_open(now)
        answered = self._answered(participant_id, "accepted")
        if self.acceptance_mode == "one_side" or answered.mentor_answer == answered.mentee_answer == "accepted":
            started = replace(answered, status="active")
            return started, [accepted, started.formed()]
        return answered, [accepted]

    def decline(self, participant_id: str, reason_code: DeclineReason, now: datetime) -> tuple[Pair, list[Event]]:
        """A member declines: both return to the pool and the couple is never proposed again. Declining again
        changes nothing."""
        if self.answer_of(participant_id) == "declined" and self.status == "declined":
            return self, []
        self._check_open(now)
        declined = replace(self._answered(participant_id, "declined"), status="declined")
        event = ProposalDeclined(
            program_id=self.program_id, pair_id=self.pair_id, participant_id=participant_id, reason_code=reason_code
        )
        return declined, [event]

    def expire(self, now: datetime) -> tuple[Pair, ProposalExpired | None]:
        """A proposal past its `expires_at` expires (both return to the pool); anything else is left as it is."""
        if self.status != "proposed" or self.expires_at is None or now < self.expires_at:
            return self, None
        return replace(self, status="expired"), ProposalExpired(program_id=self.program_id, pair_id=self.pair_id)

    def withdraw_proposal(self) -> tuple[Pair, ProposalExpired | None]:
        """A member withdrew from the program before answering: the proposal lapses as an expired one would."""
        if self.status != "proposed":
            return self, None
        return replace(self, status="expired"), ProposalExpired(program_id=self.program_id, pair_id=self.pair_id)

    def complete(self) -> Pair:
        """Sessions completed the pair (its PairCompleted): no longer active, its mentor's place free again."""
        return replace(self, status="completed") if self.status == "active" else self

    def _check_open(self, now: datetime) -> None:
        if self.status != "proposed":
            raise Conflict(f"pair {self.pair_id} is {self.status}: its proposal takes no more answers")
        if self.expires_at is not None and now >= self.expires_at:
            raise Conflict(f"the proposal of pair {self.pair_id} expired at {self.expires_at.isoformat()}")

    def _answered(self, participant_id: str, answer: Answer) -> Pair:
        if self.role_of(participant_id) == "mentor":
            return replace(self, mentor_answer=answer)
        return replace(self, mentee_answer=answer)

    def dissolve(self, reason: str) -> tuple[Pair, PairDissolved | None]:
        """Dissolving twice changes nothing; the members return to the pool for the next round. Only an active
        pair dissolves: a proposal is declined, a completed pair has ended already."""
        if self.status == "dissolved":
            return self, None
        if self.status != "active":
            raise Conflict(f"pair {self.pair_id} is {self.status}, not active: nothing to dissolve")
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
