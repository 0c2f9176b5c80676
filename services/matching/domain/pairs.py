"""The life of a formed pair, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.events import PairDissolved


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
