"""The `directory` read model's changes, one per event, over the Directory port: the projection applies them in
PostgreSQL (entrypoints/directory_consumer.py), tests in memory, so both hold the same state."""

from __future__ import annotations

from datetime import datetime

from services.notifications.adapters.repository import Directory
from services.notifications.domain.model import PairMembers, ProgramFacts
from services.notifications.domain.rules import Proposal
from shared.events import (
    AgreementInForce,
    Event,
    PairCompleted,
    PairDissolved,
    PairFlagged,
    PairFormed,
    PairProposed,
    ProgramLaunched,
    ProgramSettings,
    ProgramSettingsChanged,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    SessionHeld,
)

# The event types the directory reads (so the runner subscribes to their topics).
DIRECTORY_EVENTS: tuple[type[Event], ...] = (
    ProgramLaunched,
    ProgramSettingsChanged,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    PairFormed,
    SessionHeld,
    AgreementInForce,
    PairFlagged,
    PairDissolved,
    PairCompleted,
)


def program_facts(event: ProgramSettings) -> ProgramFacts:
    return ProgramFacts(event.program_id, event.title, event.cadence_days, event.duration_weeks, event.notifications)


async def apply(directory: Directory, event: Event, event_id: str, at: datetime) -> None:
    """`event` (its id, the time it happened) into the directory. Each change is idempotent."""
    match event:
        case ProgramSettingsChanged():
            await directory.put_program(program_facts(event), event.settings_version)
        case ProgramLaunched():
            await directory.put_program(program_facts(event), 1)
        case PairProposed():
            members = (event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
            await directory.proposed(Proposal(*members, proposed_at=at, expires_at=event.expires_at))
        case ProposalAccepted():
            await directory.accepted(event.pair_id, event.participant_id)
        case ProposalDeclined() | ProposalExpired():
            await directory.proposal_ended(event.pair_id)
        case PairFormed():
            pair = PairMembers(event.pair_id, event.program_id, event.mentor_id, event.mentee_id)
            await directory.pair_formed(pair, at)
        case SessionHeld():
            await directory.session_held(event.pair_id, event.held_on)
        case AgreementInForce():
            await directory.agreement_in_force(event.pair_id, event.cadence_days)
        case PairFlagged():
            await directory.flagged(event.pair_id, at, event_id)
        case PairDissolved():
            await directory.pair_ended(event.pair_id, "dissolved", at)
        case PairCompleted():
            await directory.pair_ended(event.pair_id, "completed", at)
