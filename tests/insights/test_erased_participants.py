"""An erased participant in insights' figures (issue #19): their profile facts read the sealed fields' erased values
(shared/sealing.py), the same whether the live projection rewrote them on ParticipantErased or a replay built them
from a log whose key is gone. Pure functions of hand-built facts: no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.insights.domain import metrics
from services.insights.domain.facts import Facts, Pair, Profile, Program, Withdrawal
from services.insights.domain.generations import generation
from shared.events import ParticipantEnrolled
from shared.sealing import SEALED

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
ERASED = SEALED[ParticipantEnrolled.type_name].erased


def program(k: int = 1) -> Program:
    return Program("prg-1", "Digital leaders", 14, 26, {}, T0, min_group_size=k)


def erased(profile: Profile) -> Profile:
    return Profile(profile.participant_id, profile.role, ERASED["department"], ERASED["birth_year"], profile.at)


PEOPLE = [
    Profile("a", "mentor", "IT", 1999, T0),
    Profile("b", "mentee", "Sales", 1962, T0),
    Profile("c", "mentor", "IT", 1990, T0),
    Profile("d", "mentee", "Finance", 1975, T0),
]
PAIRS = [Pair("pair-ab", "a", "b", T0), Pair("pair-cd", "c", "d", T0)]


def test_an_erased_birth_year_is_no_generation_not_the_oldest_one():
    assert generation(ERASED["birth_year"]) == "erased"
    assert generation(1900) == "baby_boomers"


def test_an_erasure_moves_the_person_to_the_erased_cells_and_keeps_every_count():
    before = Facts(program=program(), profiles=PEOPLE, pairs=PAIRS, withdrawals=[Withdrawal("b", T0)])
    after = Facts(
        program=program(),
        profiles=[erased(p) if p.participant_id == "b" else p for p in PEOPLE],
        pairs=PAIRS,
        withdrawals=[Withdrawal("b", T0)],
    )
    as_of = T0 + timedelta(days=3)
    was, now = metrics.participants(before, as_of), metrics.participants(after, as_of)
    for count in ("enrolled", "active", "withdrawn", "by_role"):
        assert getattr(now, count) == getattr(was, count)
    assert now.by_department == {"(erased)": 1, "Finance": 1, "IT": 2}
    assert now.by_generation == {"baby_boomers": 0, "gen_x": 1, "millennials": 1, "gen_z": 1, "erased": 1}
    assert "erased" not in was.by_generation, "a report without erasures keeps its shape"
    assert metrics.pairs(after, as_of) == metrics.pairs(before, as_of)
    mix = metrics.mix(after, as_of)
    # pair-ab's mentee is no longer known: only pair-cd (millennial IT mentor, gen X Finance mentee) is compared
    assert (mix.pairs_considered, mix.cross_generation, mix.cross_department) == (1, 1, 1)


def test_the_erased_cell_is_withheld_like_any_small_group():
    facts = Facts(program=program(k=2), profiles=[erased(PEOPLE[0]), *PEOPLE[1:]])
    cuts = metrics.participants(facts, T0 + timedelta(days=1))
    assert cuts.by_department["(erased)"] is None and cuts.by_generation["erased"] is None
    assert metrics.program_report(facts, T0 + timedelta(days=1)).participants.enrolled == 4
