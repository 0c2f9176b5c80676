"""Matching's pool as enrolment's events describe it, for tests that seed it without enrolment or Kafka."""

from __future__ import annotations

from typing import Any

from shared.events import ParticipantEnrolled, ProgramLaunched


def launched(program_id: str, **overrides: Any) -> dict[str, Any]:
    """A ProgramLaunched body, as the pool projection stores it."""
    fields = {"title": "Test program", "cadence_days": 14, "duration_weeks": 10, **overrides}
    return ProgramLaunched(program_id=program_id, **fields).model_dump(mode="json")


def profile(program_id: str, participant_id: str, role: str, grade: int, **overrides: Any) -> dict[str, Any]:
    """A ParticipantEnrolled body: a mentor is junior (born 2000), a mentee senior (born 1970) unless told."""
    fields = {
        "birth_year": 2000 if grade < 5 else 1970,
        "department": "IT",
        "time_zone": "Europe/Paris",
        "languages": ["en"],
        "skills_offered": ["ai"],
        "skills_wanted": ["strategy"],
        **overrides,
    }
    enrolled = ParticipantEnrolled(
        program_id=program_id, participant_id=participant_id, role=role, grade=grade, **fields
    )
    return enrolled.model_dump(mode="json")


def constrained_pool(program_id: str) -> list[dict[str, Any]]:
    """Mentees M1..M4 (senior); mentors J1..J6 (junior). J1 reports to M1, so they must never pair; J2 takes two
    mentees; J3 speaks only Finnish; J4 withdraws before the round (the caller withdraws it); J5 is senior to
    every mentee; J6 is plain. Eligible mentor slots (J1, J2 twice, J6) are exactly enough for the four mentees."""
    return [
        profile(program_id, "p-M1", "mentee", 8),
        profile(program_id, "p-M2", "mentee", 8),
        profile(program_id, "p-M3", "mentee", 9),
        profile(program_id, "p-M4", "mentee", 7),
        profile(program_id, "p-J1", "mentor", 2, reporting_chain=["p-M1"]),
        profile(program_id, "p-J2", "mentor", 2, capacity=2),
        profile(program_id, "p-J3", "mentor", 1, languages=["fi"]),
        profile(program_id, "p-J4", "mentor", 3),
        profile(program_id, "p-J5", "mentor", 10),
        profile(program_id, "p-J6", "mentor", 3),
    ]


async def seed(uow: Any, program_id: str, people: list[dict[str, Any]], withdrawn: tuple[str, ...] = ()) -> None:
    """Launch the program, enrol `people` and withdraw `withdrawn`, as the pool projection would."""
    async with uow:
        await uow.programs.add(program_id, launched(program_id, optimize_for="participation"))
        for person in people:
            await uow.candidates.upsert(person)
        for participant_id in withdrawn:
            await uow.candidates.mark_withdrawn(program_id, participant_id)
