"""The sessions unit of work's contract: one abstract test case, subclassed per backend (in-memory in
tests/sessions/test_sessions_uow_memory.py, PostgreSQL in tests/sessions/test_sessions_uow_postgres.py), so the
in-memory twin the fast HTTP tests rely on keeps the tables' behaviour: orderings, Idempotency-Key claims and
their time to live, commit and rollback of rows, events and keys together."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.sessions.domain.model import (
    Agreement,
    Goal,
    Pair,
    ProgramGuidelines,
    Reflection,
    SessionRecord,
    StoryOptIn,
)
from services.sessions.service_layer import handlers
from services.sessions.service_layer.unit_of_work import SessionsUnitOfWork
from shared.events import FeedbackGiven, SessionHeld
from shared.keys import pair_subject
from tests.support.keys import key_store

TTL = timedelta(days=7)
FORMED = datetime(2026, 3, 1, 9, tzinfo=UTC)


def pair(pair_id: str, mentor: str = "p-mentor", mentee: str = "p-mentee", formed: datetime = FORMED) -> Pair:
    return Pair(pair_id, "prg-1", mentor, mentee, formed_at=formed)


def session(session_id: str, pair_id: str = "pair-1", held_on: date = date(2026, 4, 2), **overrides) -> SessionRecord:
    fields: dict[str, Any] = {
        "session_id": session_id,
        "pair_id": pair_id,
        "held_on": held_on,
        "minutes": 45,
        "topics": ("social media", "ai"),
        "learning_direction": "both",
        "notes": "private",
        "logged_by": "p-mentor",
        "logged_at": datetime(2026, 4, 3, 10, tzinfo=UTC),
        **overrides,
    }
    return SessionRecord(**fields)


def held(record: SessionRecord) -> SessionHeld:
    return SessionHeld(program_id="prg-1", **{k: v for k, v in record.__dict__.items() if k != "notes"})


def feedback(feedback_id: str, pair_id: str = "pair-1") -> FeedbackGiven:
    return FeedbackGiven(
        program_id="prg-1",
        pair_id=pair_id,
        feedback_id=feedback_id,
        given_by="p-mentee",
        side="mentee",
        rating=5,
        learned="",
        would_continue=True,
    )


class SessionsUnitOfWorkContract:
    """Subclasses provide a `uow` fixture (an empty sessions unit of work of their backend) and the three
    backend-specific hooks below, which stand in for what the projection and the clock do."""

    @abstractmethod
    async def given_pair(self, uow: SessionsUnitOfWork, pair: Pair) -> None:
        """Put `pair` in the pairs read model, dissolved too when its status says so."""

    @abstractmethod
    async def age_keys(self, uow: SessionsUnitOfWork, by: timedelta) -> None:
        """Make every stored Idempotency-Key `by` older."""

    @abstractmethod
    async def kept_keys(self, uow: SessionsUnitOfWork) -> dict[tuple[str, str], tuple[str, Any]]:
        """(caller, key) -> (request hash, response) of every stored key."""

    @abstractmethod
    async def kept_feedback(self, uow: SessionsUnitOfWork) -> list[str]:
        """The ids of the feedback kept."""

    @abstractmethod
    async def kept_learned(self, uow: SessionsUnitOfWork) -> dict[str, str]:
        """Feedback id -> what the feedback kept says was learned."""

    # ------------------------------------------------------------------------------------------------ erasure

    async def test_an_erasure_blanks_the_words_the_person_wrote_in_the_programs_pairs_and_no_others(
        self, uow: SessionsUnitOfWork
    ):
        """ParticipantErased (issue #19): notes of the sessions they logged, what their feedback says they learned,
        their reflection's words, the goals they wrote and the confidentiality note of the version they proposed
        read blank; their partner's words, their words in another program's pair, and every count stay."""
        await self.given_pair(uow, pair("pair-1"))
        await self.given_pair(uow, replace(pair("pair-x"), program_id="prg-2"))  # the same pseudonyms elsewhere
        goals = (
            Goal("gol-1", "mentor_to_mentee", "mentee's goal", "p-mentee"),
            Goal("gol-2", "mentee_to_mentor", "mentor's goal", "p-mentor"),
        )
        async with uow:
            for pid in ("pair-1", "pair-x"):
                await uow.sessions.add(session(f"s-{pid}-1", pid, notes="mentor's notes"))
                await uow.sessions.add(session(f"s-{pid}-2", pid, notes="mentee's notes", logged_by="p-mentee"))
                await uow.feedback.add(feedback(f"f-{pid}-1", pid).model_copy(update={"learned": "mentee's"}), FORMED)
                mentors = {"given_by": "p-mentor", "side": "mentor", "learned": "mentor's"}
                await uow.feedback.add(feedback(f"f-{pid}-2", pid).model_copy(update=mentors), FORMED)
                await uow.reflections.add(Reflection(pid, "p-mentee", "mentee", "mentee's", "mentee's", True, FORMED))
                await uow.reflections.add(Reflection(pid, "p-mentor", "mentor", "mentor's", "mentor's", False, FORMED))
                first = Agreement(pid, 1, "p-mentee", FORMED, goals, 7, 10, "strict", "mentee's note")
                await uow.agreements.save(replace(first, signed_by=("p-mentee", "p-mentor"), ends_on=date(2026, 6, 1)))
                await uow.agreements.save(replace(first, version=2, proposed_by="p-mentor", confidentiality_note="m"))
            for caller in ("p-mentee", "p-mentor"):
                assert await uow.idempotency_keys.claim(caller, "key-1", "hash", TTL) is None
                await uow.idempotency_keys.remember(caller, "key-1", {"notes": f"{caller}'s notes"})
        keys, db = key_store(uow)
        pair_keys = [pair_subject("prg-1", "pair-1"), pair_subject("prg-2", "pair-x")]
        await keys.keys(db, pair_keys, create=True)  # as the appends of the pairs' sessions made them

        await handlers.forget_words_of(uow, "prg-1", "p-mentee")

        async with uow:
            notes = {s.session_id: s.notes for pid in ("pair-1", "pair-x") for s in await uow.sessions.of_pair(pid)}
            topics = {s.session_id: s.topics for pid in ("pair-1", "pair-x") for s in await uow.sessions.of_pair(pid)}
            words = {
                (r.pair_id, r.participant_id): (r.learned, r.changed, r.would_recommend)
                for pid in ("pair-1", "pair-x")
                for r in await uow.reflections.of_pair(pid)
            }
            in_force, latest = await uow.agreements.in_force("pair-1"), await uow.agreements.latest("pair-1")
            elsewhere = await uow.agreements.latest("pair-x")
        assert topics == {
            "s-pair-1-1": (),  # words about the pair, whoever logged them: sealed under its key, now destroyed
            "s-pair-1-2": (),
            "s-pair-x-1": ("social media", "ai"),
            "s-pair-x-2": ("social media", "ai"),
        }
        ring = await keys.keys(db, pair_keys, create=False)
        assert (ring.get(pair_keys[0]), ring.get(pair_keys[1]) is not None) == (None, True)
        assert notes == {
            "s-pair-1-1": "mentor's notes",
            "s-pair-1-2": "",
            "s-pair-x-1": "mentor's notes",
            "s-pair-x-2": "mentee's notes",
        }
        assert await self.kept_learned(uow) == {
            "f-pair-1-1": "",
            "f-pair-1-2": "mentor's",
            "f-pair-x-1": "mentee's",
            "f-pair-x-2": "mentor's",
        }
        assert words == {
            ("pair-1", "p-mentee"): ("", "", True),
            ("pair-1", "p-mentor"): ("mentor's", "mentor's", False),
            ("pair-x", "p-mentee"): ("mentee's", "mentee's", True),
            ("pair-x", "p-mentor"): ("mentor's", "mentor's", False),
        }
        assert in_force is not None and latest is not None and elsewhere is not None
        assert (in_force.confidentiality_note, latest.confidentiality_note) == ("", "m")
        for version in (in_force, latest):
            assert [g.text for g in version.goals] == ["", "mentor's goal"]
            assert version.signed_by == (("p-mentee", "p-mentor") if version.version == 1 else ())
        assert elsewhere.confidentiality_note == "m" and [g.text for g in elsewhere.goals] == [g.text for g in goals]
        assert set(await self.kept_keys(uow)) == {("p-mentor", "key-1")}, "their stored answers repeat their words"

    # ------------------------------------------------------------------------------------------------- pairs

    async def test_a_pair_is_read_as_announced_and_an_unknown_one_is_none(self, uow: SessionsUnitOfWork):
        await self.given_pair(uow, pair("pair-1"))
        dissolved = Pair("pair-2", "prg-1", "p-a", "p-b", "dissolved", FORMED, FORMED + timedelta(days=30))
        await self.given_pair(uow, dissolved)
        async with uow:
            assert await uow.pairs.get("pair-1") == pair("pair-1")
            assert await uow.pairs.get("pair-2") == dissolved
            assert await uow.pairs.get("pair-unknown") is None

    async def test_a_participants_pairs_as_mentor_or_mentee_come_oldest_first(self, uow: SessionsUnitOfWork):
        await self.given_pair(uow, pair("pair-b", mentor="p-1", formed=FORMED))
        await self.given_pair(uow, pair("pair-a", mentee="p-1", formed=FORMED))
        await self.given_pair(uow, pair("pair-0", mentor="p-1", formed=FORMED + timedelta(days=1)))
        await self.given_pair(uow, pair("pair-other", formed=FORMED - timedelta(days=1)))
        async with uow:
            assert [p.pair_id for p in await uow.pairs.of_participant(["p-1"])] == ["pair-a", "pair-b", "pair-0"]
            assert await uow.pairs.of_participant(["p-nobody"]) == []
            # One person under two ids (a legacy and a per-program one, ADR 0011): one query finds both.
            both = await uow.pairs.of_participant(["p-1", "p-mentor", "p-nobody"])
            assert [p.pair_id for p in both] == ["pair-other", "pair-a", "pair-b", "pair-0"]

    @abstractmethod
    async def given_program(self, uow: SessionsUnitOfWork, guidelines: ProgramGuidelines) -> None:
        """Put a program's guidelines in the read model, as the pairs projection would."""

    async def test_a_pairs_end_is_recorded_once_and_shows_as_completed(self, uow: SessionsUnitOfWork):
        await self.given_pair(uow, pair("pair-1"))
        await self.given_pair(uow, pair("pair-2"))
        await self.given_pair(uow, Pair("pair-3", "prg-1", "p-a", "p-b", "dissolved", FORMED, FORMED))
        done = replace(pair("pair-1"), status="completed", completed_by="members", completed_on=date(2026, 6, 1))
        async with uow:
            assert sorted(p.pair_id for p in await uow.pairs.running()) == ["pair-1", "pair-2"]
            assert await uow.pairs.complete(done) is True
        async with uow:
            assert await uow.pairs.complete(replace(done, completed_by="schedule")) is False
            assert await uow.pairs.get("pair-1") == done
            assert [p.pair_id for p in await uow.pairs.running()] == ["pair-2"]  # neither ended nor dissolved
            assert [p.status for p in await uow.pairs.of_participant(["p-mentor"])] == ["completed", "active"]

    async def test_a_programs_guidelines_read_back(self, uow: SessionsUnitOfWork):
        await self.given_program(uow, ProgramGuidelines("prg-1", 14, 12))
        async with uow:
            assert await uow.programs.get("prg-1") == ProgramGuidelines("prg-1", 14, 12)
            assert await uow.programs.get("prg-unknown") is None

    # ------------------------------------------------------------------------------------------- agreements

    async def test_agreement_versions_their_goals_signatures_and_the_version_in_force(self, uow: SessionsUnitOfWork):
        goals = (
            Goal("gol-1", "mentor_to_mentee", "prompts", "p-mentee"),
            Goal("gol-2", "mentee_to_mentor", "budgets", "p-mentor"),
        )
        first = Agreement("pair-1", 1, "p-mentee", FORMED, goals, 7, 10, "strict", "between us")
        async with uow:
            assert await uow.agreements.latest("pair-1") is None and await uow.agreements.in_force("pair-1") is None
            await uow.agreements.save(first)
        signed = replace(first, signed_by=("p-mentor", "p-mentee"), ends_on=date(2026, 5, 10))
        second = replace(first, version=2, goals=goals[:1], cadence_days=10, proposed_at=FORMED + timedelta(days=3))
        async with uow:
            assert await uow.agreements.latest("pair-1") == first
            await uow.agreements.save(signed)
            await uow.agreements.save(second)
        async with uow:
            assert await uow.agreements.latest("pair-1") == second
            assert await uow.agreements.in_force("pair-1") == signed
            assert await uow.agreements.latest("pair-2") is None

    # ------------------------------------------------------------------------------------ reflections, feedback

    async def test_reflections_read_back_oldest_first(self, uow: SessionsUnitOfWork):
        later = Reflection("pair-1", "p-mentee", "mentee", "a", "b", False, FORMED + timedelta(days=2), True)
        earlier = Reflection("pair-1", "p-mentor", "mentor", "c", "", True, FORMED + timedelta(days=1), False)
        async with uow:
            await uow.reflections.add(later)
            await uow.reflections.add(earlier)
        async with uow:
            assert await uow.reflections.of_pair("pair-1") == [earlier, later]
            assert await uow.reflections.of_pair("pair-2") == []

    async def test_story_opt_ins_keep_the_latest_choice_and_read_the_sharers_of_completed_pairs(
        self, uow: SessionsUnitOfWork
    ):
        for pid in ("pair-1", "pair-2", "pair-3"):
            await self.given_pair(uow, pair(pid))
        await self.given_pair(uow, replace(pair("pair-x"), program_id="prg-2"))
        reflections = {
            (pid, who): Reflection(pid, who, side, f"{who} learned", f"{who} changed", True, FORMED, False)
            for pid in ("pair-1", "pair-2", "pair-3", "pair-x")
            for who, side in (("p-mentor", "mentor"), ("p-mentee", "mentee"))
        }
        async with uow:
            for pid in ("pair-1", "pair-3", "pair-x"):  # pair-2 still runs
                await uow.pairs.complete(replace(pair(pid), completed_by="admin", completed_on=date(2026, 6, 1)))
            for reflection in reflections.values():
                await uow.reflections.add(reflection)
            assert await uow.stories.get("pair-1", "p-mentor") is None
            for pid, who, share in (
                ("pair-1", "p-mentor", True),
                ("pair-1", "p-mentee", True),
                ("pair-2", "p-mentor", True),
                ("pair-3", "p-mentee", True),
                ("pair-x", "p-mentor", True),
            ):
                await uow.stories.save(StoryOptIn(pid, who, share, FORMED))
        async with uow:
            await uow.stories.save(StoryOptIn("pair-1", "p-mentee", False, FORMED + timedelta(days=1)))
            await uow.stories.save(StoryOptIn("pair-1", "p-mentee", True, FORMED + timedelta(days=2)))
            await uow.stories.save(StoryOptIn("pair-3", "p-mentee", False, FORMED + timedelta(days=2)))
        async with uow:
            assert await uow.stories.get("pair-1", "p-mentee") == StoryOptIn(
                "pair-1", "p-mentee", True, FORMED + timedelta(days=2)
            )
            pairs, shared = await uow.stories.shared_in_program("prg-1")
        assert [p.pair_id for p in pairs] == ["pair-1"], "running pairs and withdrawn opt-ins tell nothing"
        assert pairs[0].status == "completed"
        assert shared == [reflections["pair-1", "p-mentee"], reflections["pair-1", "p-mentor"]]

    async def test_the_last_feedback_of_a_member_is_when_it_was_given(self, uow: SessionsUnitOfWork):
        async with uow:
            assert await uow.feedback.last_given_at("pair-1", "p-mentee") is None
            await uow.feedback.add(feedback("fbk-1"), FORMED + timedelta(days=20))
            await uow.feedback.add(feedback("fbk-2"), FORMED + timedelta(days=3))
        async with uow:
            assert await uow.feedback.last_given_at("pair-1", "p-mentee") == FORMED + timedelta(days=20)
            assert await uow.feedback.last_given_at("pair-1", "p-mentor") is None

    # ---------------------------------------------------------------------------------------------- sessions

    async def test_a_sessions_goals_advanced_read_back(self, uow: SessionsUnitOfWork):
        record = session("ses-1", goals_advanced=("gol-1", "gol-2"))
        async with uow:
            await uow.sessions.add(record)
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == [record]

    async def test_a_pairs_sessions_read_back_by_day_held_then_by_when_logged(self, uow: SessionsUnitOfWork):
        late = session("ses-3", held_on=date(2026, 4, 5))
        first = session("ses-2", logged_at=datetime(2026, 4, 3, 9, tzinfo=UTC))
        second = session("ses-1", notes="", topics=())
        async with uow:
            for record in (late, second, first, session("ses-9", pair_id="pair-2")):
                await uow.sessions.add(record)
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == [first, second, late]
            assert await uow.sessions.of_pair("pair-none") == []

    # ------------------------------------------------------------------------------------ the transaction

    async def test_leaving_the_block_commits_rows_events_and_keys_together(self, uow: SessionsUnitOfWork):
        record = session("ses-1")
        async with uow:
            assert await uow.idempotency_keys.claim("p-mentor", "k", "hash-1", TTL) is None
            await uow.sessions.add(record)
            await uow.feedback.add(feedback("fbk-1"), FORMED)
            result = await uow.append("pair-sessions-pair-1", None, [held(record)])
            await uow.idempotency_keys.remember("p-mentor", "k", {"answer": 1})
        assert result.version == 1
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == [record]
        assert [e.event_id for e in await uow.store.read_stream("pair-sessions-pair-1")] == list(result.event_ids)
        assert await self.kept_keys(uow) == {("p-mentor", "k"): ("hash-1", {"answer": 1})}
        assert await self.kept_feedback(uow) == ["fbk-1"]

    async def test_an_error_in_the_block_rolls_back_rows_events_and_the_key(self, uow: SessionsUnitOfWork):
        record = session("ses-1")
        with pytest.raises(RuntimeError):
            async with uow:
                assert await uow.idempotency_keys.claim("p-mentor", "k", "hash-1", TTL) is None
                await uow.sessions.add(record)
                await uow.feedback.add(feedback("fbk-1"), FORMED)
                await uow.append("pair-sessions-pair-1", None, [held(record)])
                raise RuntimeError("the handler failed after writing")
        async with uow:
            assert await uow.sessions.of_pair("pair-1") == []
        assert await uow.store.read_stream("pair-sessions-pair-1") == []
        assert await self.kept_keys(uow) == {}
        assert await self.kept_feedback(uow) == []

    async def test_appends_without_an_expected_version_land_one_after_the_other(self, uow: SessionsUnitOfWork):
        for n in (1, 2):
            async with uow:
                result = await uow.append("pair-sessions-pair-1", None, [held(session(f"ses-{n}"))])
            assert result.version == n

    # -------------------------------------------------------------------------------------- idempotency keys

    async def test_a_key_is_claimed_once_per_caller_and_then_gives_the_first_request_back(
        self, uow: SessionsUnitOfWork
    ):
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) == ("hash-1", {"session": 1})
            # Another request under the same key gets the first one's fingerprint: the caller decides the 409.
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) == ("hash-1", {"session": 1})
            assert await uow.idempotency_keys.claim("p-2", "k", "hash-2", TTL) is None

    async def test_a_key_within_its_time_to_live_is_remembered(self, uow: SessionsUnitOfWork):
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        await self.age_keys(uow, TTL - timedelta(hours=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) == ("hash-1", {"session": 1})

    async def test_an_expired_key_is_claimed_afresh_and_expired_keys_of_others_are_cleared(
        self, uow: SessionsUnitOfWork
    ):
        async with uow:
            for caller, key, request_hash in (("p-1", "k", "hash-1"), ("p-2", "other", "hash-9")):
                assert await uow.idempotency_keys.claim(caller, key, request_hash, TTL) is None
                await uow.idempotency_keys.remember(caller, key, {"answer": request_hash})
        await self.age_keys(uow, TTL + timedelta(days=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-3", "fresh", "hash-3", TTL) is None
        assert set(await self.kept_keys(uow)) == {("p-3", "fresh")}
        async with uow:
            # p-1's key expired (and was cleared): the same key now starts a new request, even a different one.
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) is None
        assert set(await self.kept_keys(uow)) == {("p-1", "k"), ("p-3", "fresh")}

    async def test_an_expired_key_left_by_the_bounded_sweep_is_still_claimed_afresh(
        self, uow: SessionsUnitOfWork, monkeypatch
    ):
        # The sweep clears at most EXPIRED_PER_CLAIM keys; a key it did not reach must not answer from the past.
        monkeypatch.setattr("services.sessions.adapters.repository.EXPIRED_PER_CLAIM", 0)
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-1", TTL) is None
            await uow.idempotency_keys.remember("p-1", "k", {"session": 1})
        await self.age_keys(uow, TTL + timedelta(days=1))
        async with uow:
            assert await uow.idempotency_keys.claim("p-1", "k", "hash-2", TTL) is None
        assert await self.kept_keys(uow) == {("p-1", "k"): ("hash-2", None)}
