"""Enrolment's use cases: load, let the domain decide, store the state and its events in one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from services.enrolment.domain import model
from services.enrolment.domain.commands import (
    ChangeProgramSettings,
    EnrolParticipant,
    EnrolSelf,
    InviteParticipants,
    LaunchProgram,
    UpdateProfile,
    WithdrawParticipant,
)
from services.enrolment.domain.consent import Consent, ConsentWording, wording_of
from services.enrolment.domain.training import check_required
from services.enrolment.service_layer import lookups, training
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import Conflict, Forbidden
from shared.events import ConsentGiven, Event, ParticipantInvited
from shared.eventstore import AppendResult
from shared.keys import pair_subject, subject_of

Changed = tuple[model.Participant, AppendResult | None]
ProgramChanged = tuple[model.Program, AppendResult | None]


async def launch_program(uow: EnrolmentUnitOfWork, command: LaunchProgram) -> tuple[model.Program, AppendResult]:
    program = model.launch(command)
    async with uow:
        await uow.programs.add(program)
        result = await uow.append(model.stream_of_program(program.program_id), 0, [program.launched()])
    return program, result


async def change_program(uow: EnrolmentUnitOfWork, program_id: str, command: ChangeProgramSettings) -> ProgramChanged:
    async with uow:
        program = await lookups.program_for_update(uow, program_id)
        if command.required_modules is not None:
            check_required(command.required_modules, await training.known_modules(uow, program_id))
        changed, event = program.change(command)
        return await _store_program(uow, program, changed, event)


async def close_program(uow: EnrolmentUnitOfWork, program_id: str) -> ProgramChanged:
    async with uow:
        program = await lookups.program_for_update(uow, program_id)
        closed, event = program.close(_now())
        return await _store_program(uow, program, closed, event)


async def enrol_participant(
    uow: EnrolmentUnitOfWork,
    program_id: str,
    command: EnrolParticipant,
    pseudonym_key: str,
    authorise: Callable[[model.Program], None] = lambda program: None,
) -> tuple[model.Participant, Consent, AppendResult]:
    """A person enrolling themselves through the profile body: `consent: true` consents to the current wording.
    `authorise` raises when the caller may not enrol in the program it is given: checked on the program this
    transaction reads, so the busiest write of a launch reads the program once (issue #18)."""
    async with uow:
        program = await lookups.program(uow, program_id)
        authorise(program)
        participant = model.enrol(program, command, pseudonym_key)
        consent = wording_of(program).given(participant.profile.participant_id, _now())
        return await _enrolled(uow, participant, consent)


async def opt_in(
    uow: EnrolmentUnitOfWork, program_id: str, employee_id: str, command: EnrolSelf, pseudonym_key: str
) -> tuple[model.Participant, Consent, AppendResult]:
    """Self-service enrolment: HR's fields from the person's roster entry, their consent to the wording they read."""
    async with uow:
        program = await lookups.program(uow, program_id)
        entry = await uow.roster.get(employee_id)
        if entry is None or not entry.active:
            raise Forbidden("not in the roster of eligible people")
        participant, given = model.opt_in(program, entry, command, pseudonym_key, _now())
        return await _enrolled(uow, participant, given)


async def withdraw_consent(
    uow: EnrolmentUnitOfWork, program_id: str, participant_id: str
) -> tuple[model.Participant, Consent | None, AppendResult | None]:
    """Withdrawing consent withdraws participation too, in one transaction; a second request changes nothing."""
    async with uow:
        participant = await lookups.participant_for_update(uow, program_id, participant_id)
        withdrawn, withdrawal = participant.withdraw("consent withdrawn")
        consent = await uow.consents.latest(program_id, participant_id)
        revoked, revocation = consent.withdraw(_now()) if consent else (None, None)
        if revoked is not None:
            await uow.consents.save(revoked)
        after, result = await _store(uow, participant, withdrawn, withdrawal, revocation)
    return after, revoked, result


async def invite(
    uow: EnrolmentUnitOfWork, program_id: str, command: InviteParticipants, pseudonym_key: str
) -> tuple[int, list[int]]:
    """Invite the roster's people among `command.employee_ids`; returns how many, and the indexes of the others.
    Inviting someone twice is a no-op (one ParticipantInvited per person and program)."""
    async with uow:
        program = await lookups.program(uow, program_id)
        program.require_open("it takes no new participants")
        invited, not_in_roster, now = 0, [], _now()
        for index, employee_id in enumerate(command.employee_ids):
            entry = await uow.roster.get(employee_id)
            if entry is None or not entry.active:
                not_in_roster.append(index)
                continue
            invited += 1
            participant_id = program.pseudonym(pseudonym_key, employee_id)
            if await uow.invitations.add(program_id, participant_id, now):
                event = ParticipantInvited(program_id=program_id, participant_id=participant_id)
                await uow.append(f"invitation-{program_id}-{participant_id}", 0, [event])
    return invited, not_in_roster


async def update_profile(
    uow: EnrolmentUnitOfWork,
    program_id: str,
    participant_id: str,
    command: UpdateProfile,
    pseudonym_key: str,
    *,
    by_admin: bool,
) -> Changed:
    async with uow:
        participant = await lookups.participant_for_update(uow, program_id, participant_id)
        updated, event = participant.update(command, pseudonym_key, by_admin=by_admin)
        return await _store(uow, participant, updated, event)


async def withdraw(
    uow: EnrolmentUnitOfWork, program_id: str, participant_id: str, command: WithdrawParticipant
) -> Changed:
    async with uow:
        participant = await lookups.participant_for_update(uow, program_id, participant_id)
        updated, event = participant.withdraw(command.reason)
        return await _store(uow, participant, updated, event)


async def erase(
    uow: EnrolmentUnitOfWork, program_id: str, participant_id: str, cause: Literal["request", "retention"] = "request"
) -> Changed:
    """Withdraw (if still active) and erase personal details, in one transaction."""
    async with uow:
        participant = await lookups.participant_for_update(uow, program_id, participant_id)
        withdrawn, withdrawal = participant.withdraw(ERASURE_REASONS[cause])
        erased, erasure = withdrawn.erase(cause)
        await uow.kudos.forget(program_id, participant_id)  # words they wrote or were written about them
        pair_ids = await uow.partnerships.forget_topics_of(program_id, participant_id)
        changed = await _store(uow, participant, erased, withdrawal, erasure)
        # Crypto-shredding: what the log, Kafka, backups and replays hold of them, and of their pairs, sealed is
        # unreadable from now on (matching and sessions destroy the keys of pairs this read model has yet to see).
        await uow.destroy_keys(
            [subject_of(program_id, participant_id), *(pair_subject(program_id, p) for p in pair_ids)]
        )
        return changed


ERASURE_REASONS = {"request": "personal data erased on request", "retention": "the program's retention period ended"}


async def apply_retention(unit_of_work: Callable[[], EnrolmentUnitOfWork], now: datetime, limit: int) -> int:
    """Erase, up to `limit` at a time, the participants of every closed program whose retention ran out (issue
    #19); each erasure is its own transaction, so a crash leaves the rest for the next run. How many it erased."""
    async with (uow := unit_of_work()):
        expired = [p.program_id for p in await uow.programs.closed() if (ends := p.retention_ends()) and ends <= now]
        due = [(program, pid) for program in expired for pid in await uow.participants.not_erased(program, limit)]
    for program_id, participant_id in due[:limit]:
        await erase(unit_of_work(), program_id, participant_id, cause="retention")
    return len(due[:limit])


# ------------------------------------------------------------------------------------------------------ reads


async def programs(uow: EnrolmentUnitOfWork, offset: int, limit: int) -> tuple[list[model.Program], int]:
    async with uow:
        return await uow.programs.list(offset, limit)


async def program(uow: EnrolmentUnitOfWork, program_id: str) -> model.Program:
    async with uow:
        return await lookups.program(uow, program_id)


async def participant(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str) -> model.Participant:
    async with uow:
        return await lookups.participant(uow, program_id, participant_id)


async def participants(
    uow: EnrolmentUnitOfWork, program_id: str, offset: int, limit: int
) -> tuple[list[model.Participant], int]:
    """A page of the program's participants and their total; 404 for an unknown program."""
    async with uow:
        await lookups.program(uow, program_id)
        return await uow.participants.page(program_id, offset, limit)


async def consent_wording(uow: EnrolmentUnitOfWork, program_id: str) -> ConsentWording:
    return wording_of(await program(uow, program_id))


@dataclass(frozen=True)
class MyEnrolment:
    participant: model.Participant
    title: str
    consent: Consent | None


@dataclass(frozen=True)
class MyInvitation:
    invitation: model.Invitation
    title: str


@dataclass(frozen=True)
class Mine:
    """What enrolment knows of the caller: their enrolments with the consent they gave, open invitations."""

    in_roster: bool
    enrolments: list[MyEnrolment]
    invitations: list[MyInvitation]


async def program_ids(uow: EnrolmentUnitOfWork) -> list[str]:
    """Every program's id: with Principal.ids_in, a person's ids in all of them (ADR 0011)."""
    async with uow:
        return await uow.programs.ids()


async def mine(uow: EnrolmentUnitOfWork, participant_ids: Collection[str], employee_id: str | None) -> Mine:
    """What is the person's, found by all their ids (none for a caller who is no participant)."""
    async with uow:
        entry = await uow.roster.get(employee_id) if employee_id else None
        enrolments = await uow.participants.of_person(participant_ids) if participant_ids else []
        invitations = await uow.invitations.of_person(participant_ids) if participant_ids else []
        consents = [await uow.consents.latest(e.profile.program_id, e.profile.participant_id) for e in enrolments]
        program_ids = {e.profile.program_id for e in enrolments} | {i.program_id for i in invitations}
        titles = {p: (await lookups.program(uow, p)).settings.title for p in program_ids}
    enrolled = {e.profile.program_id for e in enrolments}
    return Mine(
        in_roster=entry is not None and entry.active,
        enrolments=[MyEnrolment(e, titles[e.profile.program_id], c) for e, c in zip(enrolments, consents, strict=True)],
        invitations=[MyInvitation(i, titles[i.program_id]) for i in invitations if i.program_id not in enrolled],
    )


@dataclass(frozen=True)
class Introduction:
    partnership: model.Partnership
    me: str  # the caller's id in the pair
    partner: model.Participant


async def partners(uow: EnrolmentUnitOfWork, participant_ids: Collection[str]) -> list[Introduction]:
    """The caller's active pairs (by all their ids) and who the partner is; a partner enrolment has not reached yet
    is left out."""
    async with uow:
        pairs = await uow.partnerships.active_of(participant_ids)
        found = [
            (p, me, await uow.participants.get(p.program_id, p.partner_of(me)))
            for p in pairs
            if (me := p.member_among(participant_ids))
        ]
    return [Introduction(pair, me, partner) for pair, me, partner in found if partner is not None]


async def names(uow: EnrolmentUnitOfWork, program_id: str, participant_ids: list[str]) -> dict[str, str]:
    async with uow:
        return await uow.participants.names(program_id, participant_ids)


# ---------------------------------------------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(UTC)


async def _enrolled(
    uow: EnrolmentUnitOfWork, participant: model.Participant, given: ConsentGiven
) -> tuple[model.Participant, Consent, AppendResult]:
    """Store a new enrolment and the consent given with it: both events in the participant's stream, one
    transaction."""
    participant = replace(participant, version=2)
    if not await uow.participants.add(participant):
        program_id = participant.profile.program_id
        raise Conflict(f"participant {participant.profile.participant_id} is already enrolled in {program_id}")
    consent = Consent.of(given)
    await uow.consents.add(consent)
    result = await uow.append(participant.stream_id, 0, [participant.profile, given])
    return participant, consent, result


async def _store(
    uow: EnrolmentUnitOfWork, before: model.Participant, after: model.Participant, *events: Event | None
) -> Changed:
    result = None
    changes = [e for e in events if e is not None]
    if changes:
        result = await uow.append(before.stream_id, before.version, changes)
        after = replace(after, version=result.version)
    await uow.participants.save(after)
    return after, result


async def _store_program(
    uow: EnrolmentUnitOfWork, before: model.Program, after: model.Program, event: Event | None
) -> ProgramChanged:
    if event is None:
        return after, None
    result = await uow.append(model.stream_of_program(before.program_id), before.version, [event])
    after = replace(after, version=result.version)
    await uow.programs.save(after)
    return after, result
