"""Enrolment's rules without I/O: launching, pseudonymous enrolment, consent, profile changes, withdrawal, erasure."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.enrolment.domain import model
from services.enrolment.domain.commands import ChangeProgramSettings, EnrolParticipant, LaunchProgram, UpdateProfile
from shared.errors import Conflict, Invalid
from shared.events import DEFAULT_WEIGHTS, ParticipantErased, ParticipantProfileUpdated, ParticipantWithdrawn
from shared.pseudonyms import legacy_pseudonym, pseudonym

KEY = "test-pseudonym-key"


def launched(**overrides):
    return model.launch(LaunchProgram(title="Digital leaders", **overrides))


def command(employee_id: str = "E100", **overrides) -> EnrolParticipant:
    body = {
        "employee_id": employee_id,
        "display_name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "mentor",
        "grade": 7,
        "birth_year": 1970,
        "department": "IT",
        "languages": ["en"],
        "goals": "learn TikTok",
        "consent": True,
        **overrides,
    }
    return EnrolParticipant.model_validate(body)


def enrolled(employee_id: str = "E100", **overrides) -> model.Participant:
    return model.enrol(launched(), command(employee_id, **overrides), KEY)


# ---------------------------------------------------------------------------------------------------- launch


def test_a_launched_program_gets_a_fresh_id_and_keeps_what_was_asked():
    first, second = launched(cadence_days=7, focus_areas=["ai"]), launched()
    assert first.program_id.startswith("prg-") and first.program_id != second.program_id
    assert (first.settings.title, first.settings.cadence_days, first.settings.focus_areas) == (
        "Digital leaders",
        7,
        ("ai",),
    )
    assert (first.settings_version, first.consent_version, first.closed_at) == (1, 1, None)


def test_a_program_weighs_unnamed_criteria_by_default():
    program = launched(matching_weights={"cross_department": 9})
    assert program.settings.matching_weights == {**DEFAULT_WEIGHTS, "cross_department": 9}


@pytest.mark.parametrize("weights", [{"charisma": 1.0}, {"cross_department": -1.0}])
def test_unknown_or_negative_weights_are_refused(weights):
    with pytest.raises(ValidationError) as error:
        LaunchProgram(title="x", matching_weights=weights)
    assert error.value.errors()[0]["loc"][0] == "matching_weights"


# ------------------------------------------------------------------------------------------------- pseudonym


def test_a_pseudonym_is_stable_per_employee_and_key_and_reveals_nothing():
    assert pseudonym(KEY, "prg-1", "E100") == pseudonym(KEY, "prg-1", " E100 ")
    assert pseudonym(KEY, "prg-1", "E100") != pseudonym(KEY, "prg-1", "E101")
    assert pseudonym(KEY, "prg-1", "E100") != pseudonym("another key", "prg-1", "E100")
    assert pseudonym(KEY, "prg-1", "E100").startswith("p-") and "E100" not in pseudonym(KEY, "prg-1", "E100")


def test_a_new_program_derives_ids_per_program_and_an_old_one_keeps_the_legacy_ids():
    first, second = launched(), launched()
    assert first.settings.pseudonyms == second.settings.pseudonyms == "per-program"
    assert first.launched().pseudonyms == "per-program"  # what ProgramLaunched records
    in_first, in_second = (model.enrol(p, command("E100"), KEY).profile.participant_id for p in (first, second))
    assert in_first != in_second  # one person, two programs: nothing links the ids without the key
    assert model.enrol(first, command("E100"), KEY).profile.participant_id == in_first  # stable in one program
    old = model.Program(settings=first.settings.model_copy(update={"pseudonyms": "global"}))
    assert model.enrol(old, command("E100", reporting_chain=["M1"]), KEY).profile.model_dump(
        include={"participant_id", "reporting_chain"}
    ) == {"participant_id": legacy_pseudonym(KEY, "E100"), "reporting_chain": (legacy_pseudonym(KEY, "M1"),)}


def test_a_settings_change_keeps_the_programs_scheme():
    old = model.Program(settings=launched().settings.model_copy(update={"pseudonyms": "global"}))
    changed, event = old.change(ChangeProgramSettings(title="Renamed"))
    assert event is not None and event.pseudonyms == changed.settings.pseudonyms == "global"
    with pytest.raises(ValidationError):
        ChangeProgramSettings.model_validate({"pseudonyms": "global"})  # nobody picks a scheme by hand
    with pytest.raises(ValidationError):
        LaunchProgram.model_validate({"title": "x", "pseudonyms": "global"})


# ----------------------------------------------------------------------------------------------------- enrol


def test_enrolment_publishes_a_profile_without_personal_details():
    participant = enrolled(reporting_chain=["M1", "M2"])
    body, program_id = participant.profile.model_dump_json(), participant.profile.program_id
    assert participant.profile.participant_id == pseudonym(KEY, program_id, "E100")
    assert participant.profile.reporting_chain == (pseudonym(KEY, program_id, "M1"), pseudonym(KEY, program_id, "M2"))
    for personal in ("E100", "Ada", "ada@example.com", "TikTok", "M1"):
        assert personal not in body
    assert (participant.employee_id, participant.display_name, participant.email, participant.goals) == (
        "E100",
        "Ada Lovelace",
        "ada@example.com",
        "learn TikTok",
    )
    assert (participant.status, participant.version) == ("active", 1)
    assert participant.stream_id == f"enrolment-{participant.profile.program_id}-{participant.profile.participant_id}"


def test_a_participant_is_not_its_own_manager():
    with pytest.raises(Invalid) as error:
        enrolled("E100", reporting_chain=["M1", " E100"])
    assert error.value.field == "reporting_chain"
    assert "E100" not in str(error.value)


@pytest.mark.parametrize("consent", [False, None, "yes"])
def test_enrolment_without_explicit_consent_is_refused(consent):
    with pytest.raises(ValidationError) as error:
        command(consent=consent)
    assert [e["loc"] for e in error.value.errors()] == [("consent",)]


def test_enrolment_without_a_consent_field_is_refused():
    body = command().model_dump(exclude={"consent"})
    with pytest.raises(ValidationError) as error:
        EnrolParticipant.model_validate(body)
    assert [e["loc"] for e in error.value.errors()] == [("consent",)]


@pytest.mark.parametrize(
    "field, value",
    [("time_zone", "Mars/Olympus"), ("languages", []), ("grade", 101), ("email", "nope"), ("role", "boss")],
)
def test_a_bad_profile_field_is_named(field, value):
    with pytest.raises(ValidationError) as error:
        command(**{field: value})
    assert {e["loc"][0] for e in error.value.errors()} == {field}


# ---------------------------------------------------------------------------------------------------- update


def test_a_public_change_publishes_the_whole_new_profile():
    participant = enrolled()
    updated, event = participant.update(UpdateProfile(grade=8, skills_offered=["python"]), KEY, by_admin=True)
    assert isinstance(event, ParticipantProfileUpdated)
    assert event.model_dump() == updated.profile.model_dump()
    assert (updated.profile.grade, updated.profile.skills_offered) == (8, ("python",))
    assert updated.profile.department == participant.profile.department  # fields not given stay


def test_a_change_of_personal_details_only_publishes_nothing():
    updated, event = enrolled().update(
        UpdateProfile(display_name="Ada King", email="ak@example.com", goals=""), KEY, by_admin=True
    )
    assert event is None
    assert (updated.display_name, updated.email, updated.goals) == ("Ada King", "ak@example.com", "")


def test_giving_the_same_public_values_again_publishes_nothing():
    participant = enrolled()
    updated, event = participant.update(UpdateProfile(grade=7, languages=["en"]), KEY, by_admin=True)
    assert event is None and updated.profile == participant.profile


def test_an_updated_reporting_chain_is_pseudonymised():
    participant = enrolled()
    _, event = participant.update(UpdateProfile(reporting_chain=["M9"]), KEY, by_admin=True)
    assert event is not None and event.reporting_chain == (pseudonym(KEY, participant.profile.program_id, "M9"),)
    assert "M9" not in event.model_dump_json()


def test_an_updated_reporting_chain_in_a_legacy_program_keeps_legacy_ids():
    old = model.Program(settings=launched().settings.model_copy(update={"pseudonyms": "global"}))
    participant = model.enrol(old, command("E100"), KEY)
    _, event = participant.update(UpdateProfile(reporting_chain=["M9"]), KEY, by_admin=True)
    assert event is not None and event.reporting_chain == (legacy_pseudonym(KEY, "M9"),)


@pytest.mark.parametrize("leave", ["withdraw", "erase"])
def test_only_an_active_participant_may_change_its_profile(leave):
    participant = enrolled()
    left = participant.withdraw("moving on")[0] if leave == "withdraw" else participant.erase()[0]
    with pytest.raises(Conflict):
        left.update(UpdateProfile(grade=8), KEY, by_admin=True)


def test_an_update_with_an_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError) as error:
        UpdateProfile(time_zone="Mars/Olympus")
    assert error.value.errors()[0]["loc"] == ("time_zone",)


# -------------------------------------------------------------------------------------------------- withdraw


def test_withdrawal_is_published_once():
    participant = enrolled()
    withdrawn, event = participant.withdraw("moving on")
    assert withdrawn.status == "withdrawn"
    assert event == ParticipantWithdrawn(
        program_id=participant.profile.program_id, participant_id=participant.profile.participant_id, reason="moving on"
    )
    again, nothing = withdrawn.withdraw("still moving on")
    assert again == withdrawn and nothing is None


# ----------------------------------------------------------------------------------------------------- erase


def test_erasure_forgets_the_person_and_keeps_the_pseudonymous_profile():
    participant = enrolled()
    erased, event = participant.erase()
    assert event == ParticipantErased(
        program_id=participant.profile.program_id, participant_id=participant.profile.participant_id
    )
    assert erased.status == "erased" and erased.profile == participant.profile
    assert (erased.display_name, erased.email, erased.goals) == ("", "", "")
    assert erased.employee_id == f"erased:{participant.profile.participant_id}"
    assert "E100" not in repr(erased) and "Ada" not in repr(erased)


def test_erasing_twice_changes_nothing():
    erased, _ = enrolled().erase()
    assert erased.erase() == (erased, None)


def test_an_erased_participant_cannot_be_withdrawn_again():
    erased, _ = enrolled().erase()
    assert erased.withdraw("again") == (erased, None)
