"""Enrolment's unit of work and repositories: one abstract test case, subclassed per backend (in-memory in
tests/enrolment/test_enrolment_uow_memory.py, PostgreSQL in tests/enrolment/test_enrolment_uow_postgres.py), so the
twin the in-process HTTP tests run on keeps the rules of the real tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.enrolment.domain import model
from services.enrolment.domain.commands import EnrolParticipant, LaunchProgram
from services.enrolment.domain.consent import Consent
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork

KEY = "contract-pseudonym-key"


def a_program(title: str = "Digital leaders") -> model.Program:
    return model.launch(LaunchProgram(title=title, focus_areas=["ai"]))


def a_participant(program: model.Program, employee_id: str, **overrides) -> model.Participant:
    body = {
        "employee_id": employee_id,
        "display_name": f"Person {employee_id}",
        "email": f"{employee_id.lower()}@example.com",
        "role": "mentee",
        "grade": 2,
        "birth_year": 1999,
        "department": "Sales",
        "languages": ["en", "fr"],
        "reporting_chain": ["M1"],
        "skills_offered": ["tiktok"],
        "goals": "lead",
        "consent": True,
        **overrides,
    }
    return model.enrol(program, EnrolParticipant.model_validate(body), KEY)


class Boom(Exception):
    pass


class EnrolmentUnitOfWorkContract:
    """Subclasses provide a `uow` fixture: a unit of work of their backend over empty state and an empty store."""

    async def launched(self, uow: EnrolmentUnitOfWork, *titles: str) -> list[model.Program]:
        programs = []
        for title in titles:  # one unit of work each: the tables order by the transaction's time
            async with uow:
                programs.append(a_program(title))
                await uow.programs.add(programs[-1])
        return programs

    async def enrolled(self, uow: EnrolmentUnitOfWork, program: model.Program, *employees: str) -> list:
        participants = []
        for employee_id in employees:
            async with uow:
                participants.append(a_participant(program, employee_id))
                assert await uow.participants.add(participants[-1])
        return participants

    async def test_programs_read_back_whole_and_in_launch_order(self, uow: EnrolmentUnitOfWork):
        programs = await self.launched(uow, "first", "second", "third")
        async with uow:
            assert await uow.programs.list(0, 10) == (programs, 3)
            assert await uow.programs.list(1, 1) == ([programs[1]], 3)
            assert await uow.programs.get(programs[1].program_id) == programs[1]
            assert await uow.programs.get("prg-unknown") is None

    async def test_a_participant_reads_back_whole(self, uow: EnrolmentUnitOfWork):
        [program] = await self.launched(uow, "p")
        [participant] = await self.enrolled(uow, program, "E1")
        async with uow:
            pid = participant.profile.participant_id
            assert await uow.participants.get(program.program_id, pid) == participant
            assert await uow.participants.get_for_update(program.program_id, pid) == participant
            assert await uow.participants.get(program.program_id, "p-unknown") is None
            assert await uow.participants.get_for_update("prg-unknown", pid) is None

    async def test_an_employee_is_enrolled_once_per_program(self, uow: EnrolmentUnitOfWork):
        first, second = await self.launched(uow, "one", "two")
        [participant] = await self.enrolled(uow, first, "E1")
        async with uow:
            assert not await uow.participants.add(a_participant(first, "E1", display_name="Someone else"))
            # Same employee under another id (say, after a key rotation): still one enrolment per program.
            other_id = participant.profile.model_copy(update={"participant_id": "p-other"})
            assert not await uow.participants.add(replace(participant, profile=other_id))
            assert await uow.participants.add(a_participant(second, "E1"))
        async with uow:
            assert await uow.participants.page(first.program_id, 0, 10) == ([participant], 1)
            assert (await uow.participants.page(second.program_id, 0, 10))[1] == 1

    async def test_a_saved_participant_reads_back_changed(self, uow: EnrolmentUnitOfWork):
        [program] = await self.launched(uow, "p")
        [participant] = await self.enrolled(uow, program, "E1")
        erased, _ = participant.erase()
        async with uow:
            await uow.participants.save(replace(erased, version=3))
        async with uow:
            stored = await uow.participants.get(program.program_id, participant.profile.participant_id)
        assert stored == replace(erased, version=3)
        assert (stored.status, stored.email, stored.employee_id) == ("erased", "", erased.employee_id)

    async def test_closed_programs_and_the_participants_not_yet_erased(self, uow: EnrolmentUnitOfWork):
        program, running = await self.launched(uow, "closed", "running")
        kept, erased, other = await self.enrolled(uow, program, "E1", "E2", "E3")
        async with uow:
            closed, _ = program.close(datetime(2026, 1, 31, tzinfo=UTC))
            await uow.programs.save(closed)
            await uow.participants.save(erased.erase()[0])
        async with uow:
            assert [p.program_id for p in await uow.programs.closed()] == [program.program_id]
            left = await uow.participants.not_erased(program.program_id, 10)
            assert left == sorted([kept.profile.participant_id, other.profile.participant_id])
            assert await uow.participants.not_erased(program.program_id, 1) == left[:1]
            assert await uow.participants.not_erased(running.program_id, 10) == []

    async def test_participants_page_in_enrolment_order_with_the_program_total(self, uow: EnrolmentUnitOfWork):
        program, other = await self.launched(uow, "p", "other")
        participants = await self.enrolled(uow, program, "E3", "E1", "E5", "E2", "E4")
        await self.enrolled(uow, other, "E9")
        async with uow:
            assert await uow.participants.page(program.program_id, 0, 2) == (participants[:2], 5)
            assert await uow.participants.page(program.program_id, 2, 2) == (participants[2:4], 5)
            assert await uow.participants.page(program.program_id, 4, 2) == (participants[4:], 5)
            assert await uow.participants.page(program.program_id, 6, 2) == ([], 5)
            assert await uow.participants.page("prg-unknown", 0, 2) == ([], 0)

    async def test_leaving_the_block_commits_state_and_events_together(self, uow: EnrolmentUnitOfWork):
        program = a_program()
        async with uow:
            await uow.programs.add(program)
            result = await uow.append(model.stream_of_program(program.program_id), 0, [program.launched()])
        async with uow:
            assert await uow.programs.get(program.program_id) == program
        [stored] = await uow.store.read_stream(model.stream_of_program(program.program_id))
        assert (stored.version, stored.position, stored.data) == (
            1,
            result.last_position,
            program.launched().model_dump(mode="json"),
        )

    async def test_an_error_in_the_block_rolls_back_state_and_events(self, uow: EnrolmentUnitOfWork):
        [kept] = await self.launched(uow, "kept")
        [participant] = await self.enrolled(uow, kept, "E1")
        lost = a_program("lost")
        with pytest.raises(Boom):
            async with uow:
                await uow.programs.add(lost)
                await uow.append(model.stream_of_program(lost.program_id), 0, [lost.launched()])
                await uow.participants.save(participant.withdraw("gone")[0])
                raise Boom
        async with uow:
            assert await uow.programs.list(0, 10) == ([kept], 1)
            assert await uow.participants.get(kept.program_id, participant.profile.participant_id) == participant
        assert await uow.store.read_stream(model.stream_of_program(lost.program_id)) == []
        assert await uow.store.read_after(0) == []

    # -------------------------------------------------------------------------------------------- issue #14

    async def test_a_persons_enrolments_and_names_read_back(self, uow: EnrolmentUnitOfWork):
        first, second = await self.launched(uow, "one", "two")
        [one, two] = await self.enrolled(uow, first, "E1", "E2")
        [again] = await self.enrolled(uow, second, "E1")
        pid = one.profile.participant_id
        async with uow:
            await uow.participants.save(replace(two.erase()[0], share_goals=True))
            # One person, one id per program (ADR 0011): all their ids find all their enrolments.
            assert await uow.participants.of_person([pid, again.profile.participant_id]) == [one, again]
            assert await uow.participants.of_person([pid]) == [one]
            assert await uow.participants.of_person(["p-unknown"]) == []
            names = await uow.participants.names(first.program_id, [pid, two.profile.participant_id, "p-unknown"])
            assert names == {pid: "Person E1"}  # erased and unknown ids left out
        async with uow:
            stored = await uow.participants.get(first.program_id, two.profile.participant_id)
            assert stored is not None and stored.share_goals is True

    async def test_a_consent_and_its_withdrawal_read_back(self, uow: EnrolmentUnitOfWork):
        [program] = await self.launched(uow, "p")
        given = Consent(program.program_id, "p-1", 1, "ab" * 32, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        async with uow:
            assert await uow.consents.latest(program.program_id, "p-1") is None
            await uow.consents.add(given)
        withdrawn, event = given.withdraw(datetime(2026, 2, 1, tzinfo=UTC))
        assert event is not None and withdrawn.withdraw(datetime(2026, 3, 1, tzinfo=UTC)) == (withdrawn, None)
        async with uow:
            assert await uow.consents.latest(program.program_id, "p-1") == given
            await uow.consents.save(withdrawn)
        async with uow:
            assert await uow.consents.latest(program.program_id, "p-1") == withdrawn
            assert await uow.consents.latest(program.program_id, "p-2") is None

    async def test_a_person_is_invited_once_per_program(self, uow: EnrolmentUnitOfWork):
        first, second = await self.launched(uow, "one", "two")
        at = datetime(2026, 1, 1, tzinfo=UTC)
        async with uow:
            assert await uow.invitations.add(first.program_id, "p-1", at)
            assert not await uow.invitations.add(first.program_id, "p-1", at)
            assert await uow.invitations.add(second.program_id, "p-1", at)
            assert await uow.invitations.add(first.program_id, "p-2", at)
        async with uow:
            invited = await uow.invitations.of_person(["p-1"])
        assert sorted(invited, key=lambda i: i.program_id) == sorted(
            [model.Invitation(first.program_id, "p-1", at), model.Invitation(second.program_id, "p-1", at)],
            key=lambda i: i.program_id,
        )
