"""The `facts` projection: every event insights counts, from enrolment's, matching's and sessions' topics, recorded
as a fact with its event time. Topics are read independently, so facts may arrive in any order across them."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.insights.adapters import repository
from shared.envelope import Envelope
from shared.events import (
    AgreementInForce,
    AgreementProposed,
    AgreementSigned,
    CertificateIssued,
    CompletionRequested,
    CoupleExcluded,
    CouplePinned,
    CoupleRuleLifted,
    FeedbackGiven,
    KudosGiven,
    PairCompleted,
    PairDissolved,
    PairFormed,
    PairProposed,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWithdrawn,
    ProgramClosed,
    ProgramLaunched,
    ProgramSettingsChanged,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ReflectionRecorded,
    RoundCommitted,
    SessionHeld,
    StoryShared,
    StoryWithdrawn,
    TrainingCompleted,
)
from shared.projection import Projection, on
from shared.sealing import SEALED


class FactsProjection(Projection):
    name = "facts"
    migrations = Path(__file__).parents[1] / "adapters" / "sql"
    # Every handler is one order-independent upsert (ON CONFLICT, earliest `at` wins) or writes its own stream's
    # rows, so a replay may apply partitions concurrently (shared/projection.py, ADR 0009).
    parallel_replay = True

    @on(ProgramLaunched)
    async def program_launched(self, conn: asyncpg.Connection, event: ProgramLaunched, envelope: Envelope) -> None:
        await repository.record_program(conn, event, envelope.time)

    @on(ProgramSettingsChanged)
    async def settings_changed(
        self, conn: asyncpg.Connection, event: ProgramSettingsChanged, envelope: Envelope
    ) -> None:
        await repository.record_settings(conn, event, envelope.time)

    @on(ProgramClosed)
    async def program_closed(self, conn: asyncpg.Connection, event: ProgramClosed, envelope: Envelope) -> None:
        await repository.record_closure(conn, event, envelope.time)

    @on(ParticipantEnrolled, ParticipantProfileUpdated)
    async def profile(self, conn: asyncpg.Connection, event: ParticipantEnrolled, envelope: Envelope) -> None:
        await repository.record_profile(conn, envelope.event_id, event, envelope.time)

    @on(ParticipantWithdrawn)
    async def withdrawn(self, conn: asyncpg.Connection, event: ParticipantWithdrawn, envelope: Envelope) -> None:
        await repository.record_withdrawal(conn, event, envelope.time)

    @on(ParticipantErased)
    async def erased(self, conn: asyncpg.Connection, event: ParticipantErased, envelope: Envelope) -> None:
        # On the participant's stream, after their enrolment and withdrawal: the rows it rewrites are its stream's.
        erased = {type_name: seal.erased for type_name, seal in SEALED.items()}
        await repository.erase_participant(conn, event.program_id, event.participant_id, erased)

    @on(PairFormed)
    async def pair_formed(self, conn: asyncpg.Connection, event: PairFormed, envelope: Envelope) -> None:
        await repository.record_pair(conn, event, envelope.time)

    @on(RoundCommitted)
    async def round_committed(self, conn: asyncpg.Connection, event: RoundCommitted, envelope: Envelope) -> None:
        await conn.execute(
            """INSERT INTO rounds (round_id, program_id, pairs_formed, unmatched, at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (round_id) DO NOTHING""",
            event.round_id,
            event.program_id,
            event.pairs_formed,
            event.unmatched,
            envelope.time,
        )

    @on(PairDissolved)
    async def pair_dissolved(self, conn: asyncpg.Connection, event: PairDissolved, envelope: Envelope) -> None:
        await repository.record_dissolution(conn, event, envelope.time)

    @on(SessionHeld)
    async def session_held(self, conn: asyncpg.Connection, event: SessionHeld, envelope: Envelope) -> None:
        await repository.record_session(conn, event, envelope.time)

    @on(FeedbackGiven)
    async def feedback_given(self, conn: asyncpg.Connection, event: FeedbackGiven, envelope: Envelope) -> None:
        await repository.record_feedback(conn, event, envelope.time)

    @on(PairProposed)
    async def pair_proposed(self, conn: asyncpg.Connection, event: PairProposed, envelope: Envelope) -> None:
        await repository.record_proposal(conn, event, envelope.time)

    @on(ProposalAccepted, ProposalDeclined)
    async def proposal_answered(
        self, conn: asyncpg.Connection, event: ProposalAccepted | ProposalDeclined, envelope: Envelope
    ) -> None:
        await repository.record_answer(conn, event, envelope.time)

    @on(ProposalExpired)
    async def proposal_expired(self, conn: asyncpg.Connection, event: ProposalExpired, envelope: Envelope) -> None:
        await repository.record_expiry(conn, event, envelope.time)

    @on(CouplePinned, CoupleExcluded, CoupleRuleLifted)
    async def couple_rule(
        self, conn: asyncpg.Connection, event: CouplePinned | CoupleExcluded | CoupleRuleLifted, envelope: Envelope
    ) -> None:
        await repository.record_couple_rule(conn, envelope.event_id, event, envelope.time)

    @on(AgreementProposed)
    async def agreement_proposed(self, conn: asyncpg.Connection, event: AgreementProposed, envelope: Envelope) -> None:
        await repository.record_goals(conn, event, envelope.time)

    @on(AgreementSigned)
    async def agreement_signed(self, conn: asyncpg.Connection, event: AgreementSigned, envelope: Envelope) -> None:
        await repository.record_signature(conn, event, envelope.time)

    @on(AgreementInForce)
    async def agreement_in_force(self, conn: asyncpg.Connection, event: AgreementInForce, envelope: Envelope) -> None:
        await repository.record_agreement_in_force(conn, event, envelope.time)

    @on(CompletionRequested)
    async def completion_requested(
        self, conn: asyncpg.Connection, event: CompletionRequested, envelope: Envelope
    ) -> None:
        await repository.record_completion_request(conn, event, envelope.time)

    @on(PairCompleted)
    async def pair_completed(self, conn: asyncpg.Connection, event: PairCompleted, envelope: Envelope) -> None:
        await repository.record_completion(conn, event, envelope.time)

    @on(ReflectionRecorded)
    async def reflection_recorded(
        self, conn: asyncpg.Connection, event: ReflectionRecorded, envelope: Envelope
    ) -> None:
        await repository.record_reflection(conn, envelope.event_id, event, envelope.time)

    @on(TrainingCompleted)
    async def training_completed(self, conn: asyncpg.Connection, event: TrainingCompleted, envelope: Envelope) -> None:
        await repository.record_training(conn, event, envelope.time)

    @on(CertificateIssued, KudosGiven)
    async def recognised(
        self, conn: asyncpg.Connection, event: CertificateIssued | KudosGiven, envelope: Envelope
    ) -> None:
        await repository.record_recognition(conn, event, envelope.time)

    @on(StoryShared, StoryWithdrawn)
    async def story_choice(
        self, conn: asyncpg.Connection, event: StoryShared | StoryWithdrawn, envelope: Envelope
    ) -> None:
        await repository.record_story_choice(conn, envelope.event_id, event, envelope.time)
