"""Drives a whole program through the four services over HTTP and records what it sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import httpx

from demo.organisation import Person, organisation
from tests.support.services import eventually, signed_in, token

ADMIN, AUDITOR = token("program_admin"), token("auditor")
TODAY = date.today()


@dataclass
class Sent:
    """Everything the test told the platform, from which it computes the expected figures."""

    program: dict = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)  # participant id -> person
    withdrawn: set[str] = field(default_factory=set)
    pairs: list[dict] = field(default_factory=list)
    dissolved: set[str] = field(default_factory=set)
    sessions: dict[str, list[dict]] = field(default_factory=dict)  # pair id -> sessions
    ratings: dict[str, dict[str, int]] = field(default_factory=dict)  # pair id -> side -> rating
    correlations: set[str] = field(default_factory=set)  # X-Correlation-Id of every write's response
    withdrawal_correlation: str = ""
    unmatched_after_round: int = 0  # that of the withdrawal which dissolved the last pair

    def record_correlation(self, response: httpx.Response) -> None:
        if response.request.method != "GET":
            self.correlations.add(response.headers["x-correlation-id"])


def launch(http: httpx.Client, platform: dict, sent: Sent) -> None:
    body = {
        "title": "Lifecycle",
        "cadence_days": 14,
        "duration_weeks": 12,
        "focus_areas": ["digital-skills"],
        "languages": ["en", "fr", "de", "es"],
        "optimize_for": "participation",
        "targets": {"pairs_formed": 10, "sessions_per_pair": 2, "average_rating": 4},
    }
    response = http.post(f"{platform['enrolment']}/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    sent.program = response.json()["program"]


def enrol(http: httpx.Client, platform: dict, sent: Sent, seed: int = 11, id_prefix: str = "E") -> None:
    url = f"{platform['enrolment']}/programs/{sent.program['program_id']}/participants"
    for person in organisation(48, seed=seed, id_prefix=id_prefix):
        response = http.post(url, json=person.enrolment(), headers=signed_in(person.employee_id))
        assert response.status_code == 201, response.text
        sent.people[response.json()["participant"]["participant_id"]] = person
    quitter = sorted(p for p, person in sent.people.items() if person.role == "mentor")[0]
    http.post(f"{url}/{quitter}/withdraw", json={"reason": "no time"}, headers=ADMIN).raise_for_status()
    sent.withdrawn.add(quitter)


def match(http: httpx.Client, platform: dict, sent: Sent) -> None:
    program_id = sent.program["program_id"]
    pool = f"{platform['matching']}/programs/{program_id}/pool"
    expected = {"program_id": program_id, "active": len(sent.people) - 1, "withdrawn": 1, "awaiting_training": 0}
    eventually(lambda: get(http, pool) == expected, 60, "matching's pool to hold every enrolment")
    response = http.post(f"{platform['matching']}/programs/{program_id}/rounds", headers=ADMIN)
    assert response.status_code == 201, response.text
    sent.pairs = response.json()["pairs"]
    sent.unmatched_after_round = len(response.json()["unmatched"])
    assert len(sent.pairs) >= 5


def meet(http: httpx.Client, platform: dict, sent: Sent) -> None:
    for i, pair in enumerate(sent.pairs):
        url = f"{platform['sessions']}/pairs/{pair['pair_id']}"
        eventually(lambda url=url: get(http, url) is not None, 60, f"sessions to know {pair['pair_id']}")
        mentor = token("participant", pair["mentor_id"])
        sent.sessions[pair["pair_id"]] = []
        for n in range(i % 4):  # 0..3 sessions per pair
            body = {
                # The pairs formed today, and a session is never dated before its pair started (issue #15).
                "held_on": str(TODAY),
                "minutes": 30 + 15 * n,
                "topics": ["social media", "strategy"][: 1 + n % 2],
                "learning_direction": ["mentor_to_mentee", "both", "mentee_to_mentor"][n % 3],
                "notes": "private notes",
            }
            key = {"Idempotency-Key": str(uuid.uuid4())}
            first = http.post(f"{url}/sessions", json=body, headers={**mentor, **key})
            retry = http.post(f"{url}/sessions", json=body, headers={**mentor, **key})  # a client retry
            assert first.status_code == 201, first.text
            assert retry.json()["session"] == first.json()["session"]
            sent.sessions[pair["pair_id"]].append(body)
        if sent.sessions[pair["pair_id"]]:
            sent.ratings[pair["pair_id"]] = {}
            for side, who in (("mentor", pair["mentor_id"]), ("mentee", pair["mentee_id"])):
                rating = 2 + (i + len(side)) % 4
                body = {"rating": rating, "learned": f"{side} learned", "would_continue": rating > 2}
                response = http.post(f"{url}/feedback", json=body, headers=token("participant", who))
                assert response.status_code == 201, response.text
                sent.ratings[pair["pair_id"]][side] = rating


def withdraw_one_paired_mentee(http: httpx.Client, platform: dict, sent: Sent) -> None:
    pair = sent.pairs[-1]
    url = f"{platform['enrolment']}/programs/{sent.program['program_id']}/participants/{pair['mentee_id']}/withdraw"
    response = http.post(url, json={"reason": "left the company"}, headers=ADMIN).raise_for_status()
    sent.withdrawal_correlation = response.headers["x-correlation-id"]
    sent.withdrawn.add(pair["mentee_id"])
    sent.dissolved.add(pair["pair_id"])
    matching_pair = f"{platform['matching']}/pairs/{pair['pair_id']}"
    eventually(lambda: (get(http, matching_pair) or {}).get("status") == "dissolved", 60, "the pair to dissolve")


def get(http: httpx.Client, url: str, headers: dict | None = None):
    response = http.get(url, headers=headers or ADMIN)
    return response.json() if response.status_code == 200 else None


def run(urls: dict[str, str], seed: int = 11, id_prefix: str = "E") -> Sent:
    """A whole program; `seed` and `id_prefix` keep the people of two runs apart."""
    sent = Sent()
    with httpx.Client(timeout=120, event_hooks={"response": [sent.record_correlation]}) as http:
        launch(http, urls, sent)
        enrol(http, urls, sent, seed, id_prefix)
        match(http, urls, sent)
        meet(http, urls, sent)
        withdraw_one_paired_mentee(http, urls, sent)
    return sent
