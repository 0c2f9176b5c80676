"""Matching's unit of work and repositories: one abstract test case, subclassed per backend (in-memory in
tests/matching, PostgreSQL in tests/matching_api), so the twin the fast tests rely on keeps the real SQL's rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.matching.domain.pairs import Pair
from services.matching.domain.rounds import Proposal, UnmatchedView
from services.matching.service_layer import handlers
from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared.events import PairDissolved, ParticipantEnrolled
from shared.keys import KeyRing, pair_subject
from shared.sealing import SEALED, seal
from tests.support.keys import key_store
from tests.support.matching_pool import constrained_pool, launched, profile, seed

PROGRAM = "prg-contract"


def proposal() -> Proposal:
    unmatched = [UnmatchedView(participant_id="p-x", reason="capacity")]
    return Proposal(pairs=[], unmatched=unmatched, total_score=0.0, engine_version="test", inputs_hash="h" * 8)


def pair(pair_id: str, round_id: str, mentor: str = "p-J1", mentee: str = "p-M1", program: str = PROGRAM) -> Pair:
    return Pair(pair_id, program, round_id, mentor, mentee, 0.5, {"skills_to_mentee": 0.5})


class MatchingUnitOfWorkContract:
    """Subclasses provide a `uow` fixture: a unit of work over empty state and an empty event store."""

    # ------------------------------------------------------------------------------------------ programs

    async def test_a_program_reads_back_as_launched_and_a_second_launch_of_its_id_changes_nothing(
        self, uow: MatchingUnitOfWork
    ):
        """First write wins: a forged or replayed ProgramLaunched with a known id must not rewrite the program's
        weights or goal under the rounds already run."""
        async with uow:
            assert await uow.programs.get(PROGRAM) is None
            await uow.programs.add(PROGRAM, launched(PROGRAM))
            await uow.programs.add(PROGRAM, launched(PROGRAM, optimize_for="participation", title="Forged"))
        async with uow:
            assert await uow.programs.get(PROGRAM) == launched(PROGRAM)

    # ------------------------------------------------------------------------------------------ candidates

    async def test_active_candidates_read_back_by_participant_id_with_their_latest_profile(self, uow):
        async with uow:
            for participant in ("p-c", "p-a", "p-b"):
                await uow.candidates.upsert(profile(PROGRAM, participant, "mentor", 2))
            await uow.candidates.upsert(profile(PROGRAM, "p-a", "mentor", 3))
            await uow.candidates.upsert(profile("prg-other", "p-z", "mentor", 2))
        async with uow:
            active = await uow.candidates.active(PROGRAM, lock=True)
            counts = await uow.candidates.counts(PROGRAM)
        assert [c["participant_id"] for c in active] == ["p-a", "p-b", "p-c"]
        assert active[0] == profile(PROGRAM, "p-a", "mentor", 3)
        assert counts == {"active": 3}

    async def test_a_withdrawn_candidate_stays_withdrawn_whatever_profile_arrives_after(self, uow):
        async with uow:
            await uow.candidates.upsert(profile(PROGRAM, "p-a", "mentor", 2))
            await uow.candidates.mark_withdrawn(PROGRAM, "p-a")
            await uow.candidates.upsert(profile(PROGRAM, "p-a", "mentor", 3))
        async with uow:
            assert await uow.candidates.active(PROGRAM) == []
            assert await uow.candidates.counts(PROGRAM) == {"withdrawn": 1}

    async def test_a_withdrawal_before_the_enrolment_leaves_a_withdrawn_placeholder(self, uow):
        async with uow:
            await uow.candidates.mark_withdrawn(PROGRAM, "p-early")
            await uow.candidates.upsert(profile(PROGRAM, "p-early", "mentor", 2))
            await uow.candidates.upsert(profile(PROGRAM, "p-b", "mentee", 8))
        async with uow:
            assert [c["participant_id"] for c in await uow.candidates.active(PROGRAM)] == ["p-b"]
            assert await uow.candidates.counts(PROGRAM) == {"active": 1, "withdrawn": 1}
            assert await uow.candidates.counts("prg-unknown") == {}

    async def test_an_erased_candidate_reads_as_its_enrolment_without_a_key_and_keeps_its_status(self, uow):
        """ParticipantErased (issue #19): the profile equals the body a replay reads once the person's key is
        destroyed (`seal` under an empty key ring); status, counts and the other candidates stay; a withdrawal's
        empty placeholder stays empty; another program's candidate of the same id is untouched."""
        erased_values = SEALED[ParticipantEnrolled.type_name].erased
        async with uow:
            await uow.candidates.upsert(profile(PROGRAM, "p-a", "mentor", 2))
            await uow.candidates.upsert(profile(PROGRAM, "p-b", "mentee", 8))
            await uow.candidates.upsert(profile("prg-other", "p-a", "mentor", 2))
            await uow.candidates.mark_withdrawn(PROGRAM, "p-early")
            counts = await uow.candidates.counts(PROGRAM)
            for participant in ("p-a", "p-early", "p-unknown"):
                await uow.candidates.erase(PROGRAM, participant, erased_values)
        keyless = ParticipantEnrolled.model_validate(
            seal(ParticipantEnrolled.type_name, profile(PROGRAM, "p-a", "mentor", 2), KeyRing())
        ).model_dump(mode="json")
        async with uow:
            assert await uow.candidates.get(PROGRAM, "p-a") == keyless
            assert keyless["department"] == "(erased)" and keyless["role"] == "mentor"
            assert await uow.candidates.get(PROGRAM, "p-b") == profile(PROGRAM, "p-b", "mentee", 8)
            assert await uow.candidates.get("prg-other", "p-a") == profile("prg-other", "p-a", "mentor", 2)
            assert await uow.candidates.get(PROGRAM, "p-early") is None
            assert await uow.candidates.get(PROGRAM, "p-unknown") is None
            assert await uow.candidates.counts(PROGRAM) == counts == {"active": 2, "withdrawn": 1}

    # ------------------------------------------------------------------------------------------ rounds and pairs

    async def test_pairs_read_back_round_by_round_then_by_pair_id(self, uow):
        async with uow:
            await uow.rounds.lock(PROGRAM)
            await uow.rounds.add("rnd-1", PROGRAM, proposal())
            for pair_id in ("pair-b", "pair-a"):
                await uow.pairs.add(pair(pair_id, "rnd-1"))
        async with uow:  # a later transaction: a later formed_at
            await uow.rounds.add("rnd-2", PROGRAM, proposal())
            await uow.pairs.add(pair("pair-0", "rnd-2", "p-J2", "p-M2"))
            await uow.rounds.add("rnd-other", "prg-other", proposal())
            await uow.pairs.add(pair("pair-x", "rnd-other", program="prg-other"))
        async with uow:
            listed = await uow.pairs.of_program(PROGRAM)
            got = await uow.pairs.get("pair-a", for_update=True)
        assert [p.pair_id for p in listed] == ["pair-a", "pair-b", "pair-0"]
        assert got == pair("pair-a", "rnd-1")

    async def test_a_saved_dissolution_reads_back_under_its_status(self, uow):
        async with uow:
            await uow.rounds.add("rnd-1", PROGRAM, proposal())
            await uow.pairs.add(pair("pair-a", "rnd-1", "p-J1", "p-M1"))
            await uow.pairs.add(pair("pair-b", "rnd-1", "p-J2", "p-M1"))
            await uow.pairs.add(pair("pair-c", "rnd-1", "p-J3", "p-M3"))
        dissolved = replace(pair("pair-a", "rnd-1"), status="dissolved", dissolve_reason="r", version=2)
        async with uow:
            await uow.pairs.save(dissolved)
        async with uow:
            assert await uow.pairs.get("pair-a") == dissolved
            assert [p.pair_id for p in await uow.pairs.of_program(PROGRAM, "dissolved")] == ["pair-a"]
            assert [p.pair_id for p in await uow.pairs.of_program(PROGRAM, "active")] == ["pair-b", "pair-c"]
            assert [p.pair_id for p in await uow.pairs.active_of(PROGRAM, "p-M1")] == ["pair-b"]
            assert await uow.pairs.dissolved_couples(PROGRAM) == [("p-J1", "p-M1")]
            assert await uow.pairs.get("pair-unknown") is None

    # ------------------------------------------------------------------------------------------ the unit of work

    async def test_state_and_events_commit_together(self, uow):
        async with uow:
            await uow.programs.add(PROGRAM, launched(PROGRAM))
            await uow.append("pair-p1", 0, [PairDissolved(program_id=PROGRAM, pair_id="p1", reason="r")])
        async with uow:
            assert await uow.programs.get(PROGRAM) is not None
        assert [e.version for e in await uow.store.read_stream("pair-p1")] == [1]

    async def test_an_error_rolls_back_state_and_events_together(self, uow):
        with pytest.raises(RuntimeError):
            async with uow:
                await uow.programs.add(PROGRAM, launched(PROGRAM))
                await uow.append("pair-p1", 0, [PairDissolved(program_id=PROGRAM, pair_id="p1", reason="r")])
                raise RuntimeError("the handler failed after writing")
        async with uow:
            assert await uow.programs.get(PROGRAM) is None
        assert await uow.store.read_stream("pair-p1") == []

    # ------------------------------------------------------------------------------------------ handlers on it

    async def test_a_committed_round_stores_its_pairs_and_one_pair_formed_each(self, uow):
        await seed(uow, PROGRAM, constrained_pool(PROGRAM), withdrawn=("p-J4",))
        committed = await handlers.commit_round(uow, PROGRAM)
        stored = await handlers.pairs_of_program(uow, PROGRAM)
        assert sorted(stored, key=lambda p: p.pair_id) == sorted(committed.pairs, key=lambda p: p.pair_id)
        assert len(stored) == 4
        for p in stored:
            (formed,) = await uow.store.read_stream(p.stream_id)
            assert formed.data["round_id"] == committed.round_id
            assert (formed.data["mentor_id"], formed.data["mentee_id"]) == (p.mentor_id, p.mentee_id)
        assert committed.last_position == max(e.position for e in await uow.store.read_after(0))

    async def test_a_withdrawal_dissolves_only_that_participants_active_pairs(self, uow):
        await seed(uow, PROGRAM, constrained_pool(PROGRAM), withdrawn=("p-J4",))
        committed = await handlers.commit_round(uow, PROGRAM)
        theirs = [p for p in committed.pairs if p.has_member("p-J2")]
        results = await handlers.dissolve_pairs_of_withdrawn(uow, PROGRAM, "p-J2")
        assert sorted(r.stream_id for r in results) == sorted(p.stream_id for p in theirs)
        dissolved = await handlers.pairs_of_program(uow, PROGRAM, "dissolved")
        assert {p.pair_id for p in dissolved} == {p.pair_id for p in theirs}
        assert {(p.dissolve_reason, p.version) for p in dissolved} == {("participant withdrew", 2)}
        async with uow:
            assert await uow.candidates.counts(PROGRAM) == {"active": 9, "withdrawn": 1}  # the pool's to record
        assert await handlers.dissolve_pairs_of_withdrawn(uow, PROGRAM, "p-J2") == []

    async def test_an_erasure_blanks_the_words_about_the_persons_pairs_and_destroys_the_pairs_keys(self, uow):
        """ParticipantErased (issue #19): their pairs' dissolution reasons and their own declines' words read blank,
        and their pairs' keys (which sealed those reasons in the log) are gone; everyone else's stay."""
        await seed(uow, PROGRAM, constrained_pool(PROGRAM), withdrawn=("p-J4",))
        committed = await handlers.commit_round(uow, PROGRAM)
        theirs = sorted(p.pair_id for p in committed.pairs if p.has_member("p-J2"))
        others = sorted(p.pair_id for p in committed.pairs if not p.has_member("p-J2"))
        await handlers.dissolve_pairs_of_withdrawn(uow, PROGRAM, "p-J2")
        async with uow:
            other = await uow.pairs.get(others[0], for_update=True)
            assert other is not None
            await uow.pairs.save(replace(other, status="dissolved", dissolve_reason="a clash of diaries"))
            await uow.pairs.record_decline(theirs[0], "p-J2", "other", "I know him from a previous job")
            await uow.pairs.record_decline(others[1], "p-M9", "other", "not now")
        keys, db = key_store(uow)
        subjects = {pair_id: pair_subject(PROGRAM, pair_id) for pair_id in theirs + others}
        await keys.keys(db, subjects.values(), create=True)  # as the appends of their dissolutions made them

        await handlers.forget_words_of(uow, PROGRAM, "p-J2")

        async with uow:
            reasons = {p.pair_id: p.dissolve_reason for p in await uow.pairs.of_program(PROGRAM)}
            declines = {pid: await uow.pairs.decline_reason(pid) for pid in (theirs[0], others[1])}
        assert {reasons[pid] for pid in theirs} == {""}
        assert reasons[others[0]] == "a clash of diaries" and reasons[others[1]] is None
        assert declines == {theirs[0]: ("other", ""), others[1]: ("other", "not now")}
        ring = await keys.keys(db, subjects.values(), create=False)
        assert {pid for pid, subject in subjects.items() if ring.get(subject) is None} == set(theirs)

    # ------------------------------------------------------------------------------------------ issue #15

    async def test_a_newer_settings_change_replaces_the_program_and_an_older_one_does_not(self, uow):
        async with uow:
            await uow.programs.add(PROGRAM, launched(PROGRAM))
            await uow.programs.change(PROGRAM, launched(PROGRAM, title="Second", acceptance_mode="both"), 3)
            await uow.programs.change(PROGRAM, launched(PROGRAM, title="Late"), 2)
            await uow.programs.add(PROGRAM, launched(PROGRAM, title="Replayed launch"))
        async with uow:
            program = await uow.programs.get(PROGRAM)
        assert program is not None and (program["title"], program["acceptance_mode"]) == ("Second", "both")

    async def test_a_program_closes_once_and_an_unknown_one_stays_unknown(self, uow):
        first, later = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
        async with uow:
            await uow.programs.add(PROGRAM, launched(PROGRAM))
            assert await uow.programs.closed_at(PROGRAM) is None
            await uow.programs.close(PROGRAM, first)
            await uow.programs.close(PROGRAM, later)
            await uow.programs.close("prg-unknown", first)
        async with uow:
            assert await uow.programs.closed_at(PROGRAM) == first
            assert await uow.programs.get("prg-unknown") is None

    async def test_proposals_read_back_with_their_answers_and_fall_due_at_their_expiry(self, uow):
        now = datetime(2027, 3, 1, 12, tzinfo=UTC)
        proposed = replace(
            pair("pair-p", "rnd-1"),
            status="proposed",
            acceptance_mode="both",
            proposed_at=now,
            expires_at=now + timedelta(hours=1),
            engine_version="e",
            inputs_hash="h",
        )
        async with uow:
            await uow.rounds.add("rnd-1", PROGRAM, proposal())
            await uow.pairs.add(proposed)
            await uow.pairs.add(pair("pair-a", "rnd-1", mentor="p-J2", mentee="p-M2"))
            await uow.pairs.save(replace(proposed, mentor_answer="accepted", version=2))
        async with uow:
            assert await uow.pairs.due_proposals(now) == []
            (due,) = await uow.pairs.due_proposals(now + timedelta(hours=1))
            assert (due.mentor_answer, due.mentee_answer, due.version) == ("accepted", None, 2)
            assert (due.acceptance_mode, due.proposed_at, due.engine_version) == ("both", now, "e")
            assert [p.pair_id for p in await uow.pairs.taken(PROGRAM)] == ["pair-a", "pair-p"]
            assert [p.pair_id for p in await uow.pairs.proposals_of_participant(["p-M1"])] == ["pair-p"]
            assert [p.pair_id for p in await uow.pairs.proposals_of_program(PROGRAM)] == ["pair-p"]
            assert [p.pair_id for p in await uow.pairs.open_proposals_of(PROGRAM, "p-J1")] == ["pair-p"]

    async def test_declined_and_completed_couples_are_never_paired_again_expired_ones_may_be(self, uow):
        async with uow:
            await uow.rounds.add("rnd-1", PROGRAM, proposal())
            for n, status in enumerate(("declined", "completed", "expired", "active")):
                await uow.pairs.add(
                    replace(pair(f"pair-{n}", "rnd-1", mentor=f"p-J{n}", mentee=f"p-M{n}"), status=status)
                )
            await uow.pairs.record_decline("pair-0", "p-M0", "no_time", "private words")
            await uow.pairs.record_decline("pair-0", "p-M0", "other", "again")
        async with uow:
            assert sorted(await uow.pairs.dissolved_couples(PROGRAM)) == [("p-J0", "p-M0"), ("p-J1", "p-M1")]
            assert await uow.pairs.decline_reason("pair-0") == ("no_time", "private words")

    async def test_a_manual_pair_names_no_round(self, uow):
        async with uow:
            await uow.pairs.add(replace(pair("pair-m", "manual-1"), origin="manual"))
        async with uow:
            got = await uow.pairs.get("pair-m")
        assert got is not None and (got.origin, got.round_id) == ("manual", "manual-1")

    async def test_couple_rules_are_set_and_lifted_once(self, uow):
        async with uow:
            assert await uow.couple_rules.add(PROGRAM, "p-J1", "p-M1", "pin") is True
            assert await uow.couple_rules.add(PROGRAM, "p-J1", "p-M1", "pin") is False
            assert await uow.couple_rules.add(PROGRAM, "p-J2", "p-M1", "exclude") is True
            assert await uow.couple_rules.add("prg-other", "p-J1", "p-M1", "exclude") is True
        async with uow:
            assert await uow.couple_rules.of_program(PROGRAM) == [("p-J1", "p-M1", "pin"), ("p-J2", "p-M1", "exclude")]
            assert await uow.couple_rules.remove(PROGRAM, "p-J1", "p-M1", "pin") is True
            assert await uow.couple_rules.remove(PROGRAM, "p-J1", "p-M1", "pin") is False
            assert await uow.couple_rules.of_program(PROGRAM) == [("p-J2", "p-M1", "exclude")]

    async def test_an_active_one_is_active_and_enrolled(self, uow):
        async with uow:
            await uow.candidates.upsert(profile(PROGRAM, "p-a", "mentor", 2))
            await uow.candidates.upsert(profile(PROGRAM, "p-w", "mentor", 2))
            await uow.candidates.mark_withdrawn(PROGRAM, "p-w")
        async with uow:
            assert (await uow.candidates.active_one(PROGRAM, "p-a"))["participant_id"] == "p-a"
            assert await uow.candidates.active_one(PROGRAM, "p-w") is None
            assert await uow.candidates.active_one(PROGRAM, "p-none") is None
