"""Crypto-shredding without servers (issue #19 item 1): sealed fields open with their person's key, read as erased
once it is destroyed, cannot be moved to another person or field, and leave older plaintext bodies readable; master
keys wrap and rotate."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest
from cryptography.exceptions import InvalidTag

from shared import sealing
from shared.events import FeedbackGiven, PairDissolved, ParticipantEnrolled, ParticipantWithdrawn, SessionHeld
from shared.keys import InMemoryKeyStore, KeyRing, MasterKeys, UnknownMasterKey, pair_subject, subject_of

PROFILE = ParticipantEnrolled(
    program_id="prg-1",
    participant_id="p-ada",
    role="mentor",
    grade=9,
    birth_year=1968,
    department="Finance",
    time_zone="Europe/Paris",
    languages=("fr", "en"),
    reporting_chain=("p-boss",),
    skills_offered=("negotiation",),
    skills_wanted=("tiktok",),
    focus_areas=("digital-skills",),
    communication_style="direct",
)
TYPE = ParticipantEnrolled.type_name


async def ring_for(store: InMemoryKeyStore, *subjects: str) -> KeyRing:
    return await store.keys(None, subjects, create=True)


async def test_a_sealed_profile_shows_none_of_its_values_and_opens_with_the_persons_key():
    store = InMemoryKeyStore()
    ring = await ring_for(store, subject_of("prg-1", "p-ada"))
    data = PROFILE.model_dump(mode="json")
    sealed = sealing.seal(TYPE, data, ring)
    for name in sealing.SEALED[TYPE].erased:
        assert sealing.is_sealed(sealed[name]), name
    clear = {k: v for k, v in sealed.items() if k not in sealing.SEALED[TYPE].erased}
    assert clear == {"program_id": "prg-1", "participant_id": "p-ada", "role": "mentor", "capacity": 1}
    text = str(sealed)
    assert not any(word in text for word in ("1968", "Finance", "Paris", "negotiation", "tiktok", "direct"))
    assert sealing.unseal(TYPE, sealed, ring) == data
    assert ParticipantEnrolled.model_validate(sealing.unseal(TYPE, sealed, ring)) == PROFILE


async def test_once_the_key_is_destroyed_every_sealed_field_reads_as_erased_and_still_fits_the_contract():
    store = InMemoryKeyStore()
    subject = subject_of("prg-1", "p-ada")
    sealed = sealing.seal(TYPE, PROFILE.model_dump(mode="json"), await ring_for(store, subject))
    assert await store.destroy(None, [subject]) == 1
    after = await store.keys(None, [subject], create=True)  # a destroyed key is never made again
    assert after.get(subject) is None
    opened = sealing.unseal(TYPE, sealed, after)
    erased = ParticipantEnrolled.model_validate(opened)
    assert (erased.birth_year, erased.department, erased.languages, erased.reporting_chain) == (0, "(erased)", (), ())
    assert (erased.participant_id, erased.role) == ("p-ada", "mentor"), "ids and role stay: reports keep counting"
    # An event about an erased person is stored as erased: nothing to seal it under.
    assert sealing.seal(TYPE, PROFILE.model_dump(mode="json"), after)["department"] == "(erased)"


async def test_a_sealed_value_moved_to_another_person_or_field_does_not_open():
    store = InMemoryKeyStore()
    ada, bo = subject_of("prg-1", "p-ada"), subject_of("prg-1", "p-bo")
    ring = await ring_for(store, ada, bo)
    sealed = sealing.seal(TYPE, PROFILE.model_dump(mode="json"), ring)
    moved = {**sealed, "participant_id": "p-bo"}  # Ada's ciphertext claimed for Bo
    assert sealing.unseal(TYPE, moved, ring)["department"] == "(erased)"
    swapped = {**sealed, "department": sealed["communication_style"]}
    assert sealing.unseal(TYPE, swapped, ring)["department"] == "(erased)"


async def test_keys_are_per_person_per_program_and_free_text_is_sealed_under_its_writer():
    store = InMemoryKeyStore()
    withdrawn = ParticipantWithdrawn(program_id="prg-1", participant_id="p-ada", reason="moving to Sydney")
    feedback = FeedbackGiven(
        program_id="prg-2",
        pair_id="pair-1",
        feedback_id="f-1",
        given_by="p-ada",
        side="mentee",
        rating=5,
        learned="how my team uses TikTok",
        would_continue=True,
    )
    bodies = [(e.type_name, e.model_dump(mode="json")) for e in (withdrawn, feedback)]
    assert sealing.subjects(bodies) == {"prg-1/p-ada", "prg-2/p-ada"}
    ring = await store.keys(None, sealing.subjects(bodies), create=True)
    sealed = [sealing.seal(t, d, ring) for t, d in bodies]
    assert "Sydney" not in str(sealed) and "TikTok" not in str(sealed)
    await store.destroy(None, ["prg-1/p-ada"])  # erased from program 1 only
    ring = await store.keys(None, sealing.subjects(bodies), create=False)
    assert sealing.unseal(bodies[0][0], sealed[0], ring)["reason"] == ""
    assert sealing.unseal(bodies[1][0], sealed[1], ring)["learned"] == "how my team uses TikTok"


async def test_words_about_a_pair_are_sealed_under_the_pairs_key_and_go_with_it():
    store = InMemoryKeyStore()
    dissolved = PairDissolved(program_id="prg-1", pair_id="pair-7", reason="she left for a rival bank")
    held = SessionHeld(
        program_id="prg-1",
        pair_id="pair-7",
        session_id="s-1",
        held_on=date(2026, 3, 2),
        minutes=45,
        topics=("TikTok for bankers", "the merger"),
        learning_direction="mentee_to_mentor",
        logged_by="p-ada",
        logged_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )
    bodies = [(e.type_name, e.model_dump(mode="json")) for e in (dissolved, held)]
    assert sealing.subjects(bodies) == {pair_subject("prg-1", "pair-7")} == {"prg-1/pair:pair-7"}
    ring = await store.keys(None, sealing.subjects(bodies), create=True)
    sealed = [sealing.seal(t, d, ring) for t, d in bodies]
    assert not any(word in str(sealed) for word in ("rival", "TikTok", "merger"))
    assert [sealing.unseal(t, d, ring) for (t, _), d in zip(bodies, sealed, strict=True)] == [d for _, d in bodies]
    await store.destroy(None, [pair_subject("prg-1", "pair-7")])
    types = [t for t, _ in bodies]
    gone = await store.keys(None, sealing.sealed_subjects(zip(types, sealed, strict=True)), create=False)
    opened = [sealing.unseal(t, d, gone) for (t, _), d in zip(bodies, sealed, strict=True)]
    assert PairDissolved.model_validate(opened[0]).reason == ""
    assert SessionHeld.model_validate(opened[1]).topics == ()  # still a valid event: replays keep counting it


def test_a_body_stored_before_sealing_existed_reads_as_it_is():
    data = PROFILE.model_dump(mode="json")
    assert sealing.unseal(TYPE, data, KeyRing()) == data


def key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_master_keys_wrap_under_the_first_and_unwrap_under_any_listed_one():
    old = MasterKeys(f"k1:{key(b'1' * 32)}")
    master_id, wrapped = old.wrap(b"d" * 32, "prg-1/p-ada")
    rotated = MasterKeys(f"k2:{key(b'2' * 32)},k1:{key(b'1' * 32)}")
    assert rotated.current_id == "k2"
    assert rotated.unwrap(master_id, wrapped, "prg-1/p-ada") == b"d" * 32
    assert rotated.wrap(b"d" * 32, "prg-1/p-ada")[0] == "k2"
    with pytest.raises(UnknownMasterKey):
        MasterKeys(f"k2:{key(b'2' * 32)}").unwrap(master_id, wrapped, "prg-1/p-ada")
    with pytest.raises(InvalidTag):  # bound to its subject: another row cannot borrow it
        rotated.unwrap(master_id, wrapped, "prg-1/p-bo")


@pytest.mark.parametrize("spec", ["", "k1", "k1:" + key(b"short"), ":" + key(b"1" * 32)])
def test_a_malformed_master_key_list_is_refused_without_echoing_it(spec):
    with pytest.raises(ValueError) as refused:
        MasterKeys(spec)
    assert (spec.partition(":")[2] or "never-empty") not in str(refused.value)


# Role stays clear by design (reports count by it; alone it singles out no one).
CLEAR_BY_DESIGN = {("ParticipantEnrolled", "role"), ("ParticipantProfileUpdated", "role")}


def test_every_event_field_classed_as_describing_a_person_is_sealed_but_the_listed_ones():
    from privacy.inventory import Classification, Place
    from shared.events import EVENT_TYPES

    classification = Classification.load()
    sealed = sealing.sealed_fields()
    describing = {
        (event.__name__, name)
        for type_name, event in EVENT_TYPES.items()
        for name in event.model_fields
        if (entry := classification.of(Place("event", event.service, event.__name__, name)))
        and entry.cls in ("personal", "quasi-identifier", "free-text")
        and name not in sealed.get(type_name, ())
    }
    assert describing == CLEAR_BY_DESIGN
