"""Sessions reacts to enrolment's ParticipantErased (issue #19) with a policy on the `pairs` runner: checked here
without servers (the blanking itself: tests/contracts/sessions_uow.py on both backends)."""

from __future__ import annotations

from types import SimpleNamespace

from services.sessions.bootstrap import SPEC
from services.sessions.entrypoints.pairs_consumer import ErasureForgetsWords, PairsProjection
from shared.events import ParticipantErased
from shared.topics import events_topic


def test_the_erasure_policy_rides_a_runner_that_reads_enrolments_topic():
    """A runner subscribes to its projection's topics only: the policy hears ParticipantErased only while the
    `pairs` projection consumes something of enrolment's (ProgramLaunched today)."""
    policies = SPEC.policies(SimpleNamespace(pool=None, store=None))  # type: ignore[arg-type]
    (policy,) = [p for p in policies if ParticipantErased.type_name in p.handles]
    assert isinstance(policy, ErasureForgetsWords) and policy.projection == PairsProjection.name
    assert events_topic("enrolment", "tst") in PairsProjection().topics("tst")


def test_a_replay_of_pairs_never_runs_the_erasure_policy():
    """Replays run projections only: the words are sessions' own state, not rebuilt from the log."""
    assert ParticipantErased.type_name not in PairsProjection.handles
