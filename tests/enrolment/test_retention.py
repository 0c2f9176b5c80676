"""Retention by policy (issue #19): a closed program's participants are erased once its retention_months have
passed since it closed — not before, once each, with the cause on the event; a running program is never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.enrolment.domain import model
from services.enrolment.domain.commands import ChangeProgramSettings, LaunchProgram
from services.enrolment.service_layer import handlers
from services.enrolment.service_layer.unit_of_work import InMemoryEnrolmentUnitOfWork
from shared.events import ParticipantErased
from shared.eventstore import InMemoryEventStore
from tests.contracts.enrolment import a_participant

CLOSED = datetime(2026, 1, 31, 17, tzinfo=UTC)


def test_retention_ends_calendar_months_after_closing_on_the_months_last_day_when_it_lacks_the_day():
    program = model.launch(LaunchProgram(title="p", retention_months=1))
    assert program.retention_ends() is None, "a running program keeps its data"
    assert program.close(CLOSED)[0].retention_ends() == datetime(2026, 2, 28, 17, tzinfo=UTC)
    longer, _ = program.change(ChangeProgramSettings(retention_months=24))
    assert longer.close(CLOSED)[0].retention_ends() == datetime(2028, 1, 31, 17, tzinfo=UTC)


async def test_the_job_erases_a_closed_programs_participants_once_its_retention_ran_out():
    store = InMemoryEventStore()
    uow = InMemoryEnrolmentUnitOfWork(store=store)
    expiring = model.launch(LaunchProgram(title="expiring", retention_months=6))
    running = model.launch(LaunchProgram(title="running", retention_months=1))
    people = [a_participant(expiring, f"E{n}") for n in range(3)]
    async with uow:
        await uow.programs.add(expiring.close(CLOSED)[0])
        await uow.programs.add(running)
        for person in [*people, a_participant(running, "R1")]:
            await uow.participants.add(person)
            await uow.append(person.stream_id, 0, [person.profile])  # as enrolling records it

    def fresh() -> InMemoryEnrolmentUnitOfWork:
        return InMemoryEnrolmentUnitOfWork(uow.state, store)

    ends = datetime(2026, 7, 31, 17, tzinfo=UTC)
    assert await handlers.apply_retention(fresh, ends - timedelta(seconds=1), limit=10) == 0
    assert await handlers.apply_retention(fresh, ends, limit=2) == 2, "a batch at a time"
    assert await handlers.apply_retention(fresh, ends, limit=10) == 1
    assert await handlers.apply_retention(fresh, ends + timedelta(days=400), limit=10) == 0, "once each"

    erased = [e for e in await store.read_after(0) if e.type == ParticipantErased.type_name]
    assert sorted((e.data["participant_id"], e.data["cause"]) for e in erased) == sorted(
        (p.profile.participant_id, "retention") for p in people
    )
    for person in people:
        kept = uow.state.participants[(expiring.program_id, person.profile.participant_id)]
        assert (kept.status, kept.display_name, kept.email, kept.goals) == ("erased", "", "", "")
    assert uow.state.participants[(running.program_id, a_participant(running, "R1").profile.participant_id)].email
