"""A bounded concurrent load over HTTP: clients that each launch a program, enrol people, match them, log sessions
and give feedback, again and again, recording every effect the platform acknowledged (a 2xx and the ids it
returned), with the fault phase it was acknowledged in. Requests the platform could not answer (a killed process,
a restarting database) are retried; what was never acknowledged is not claimed."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

import httpx

from tests.support.services import signed_in, token

ADMIN = token("program_admin")
RETRYABLE = {500, 502, 503, 504}


@dataclass(frozen=True)
class Effect:
    kind: str  # program | participant | pair | session | feedback
    id: str
    phase: str
    at: float  # time.monotonic() of the acknowledgement


@dataclass
class Ledger:
    """Every acknowledged effect, and the fault phase now running (set by the suite)."""

    phase: str = "baseline"
    effects: list[Effect] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # unexpected answers, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, kind: str, id_: str) -> None:
        with self.lock:
            self.effects.append(Effect(kind, id_, self.phase, time.monotonic()))

    def note(self, failure: str) -> None:
        with self.lock:
            self.failures.append(failure)

    def snapshot(self) -> list[Effect]:
        with self.lock:
            return list(self.effects)


class Client(threading.Thread):
    def __init__(self, number: int, urls: dict[str, str], ledger: Ledger, stop: threading.Event):
        super().__init__(name=f"load-{number}", daemon=True)
        self.number, self.urls, self.ledger, self.stop_ = number, urls, ledger, stop
        self.http = httpx.Client(timeout=20)

    def run(self) -> None:
        for cycle in itertools.count():
            if self.stop_.is_set():
                return
            try:
                self.cycle(cycle)
            except Exception as error:  # the cycle gives up (a read model too late); the next one starts afresh
                self.ledger.note(f"client {self.number}: {type(error).__name__}: {str(error)[:200]}")

    def request(self, method: str, url: str, retry_for_s: float = 90, **kwargs) -> httpx.Response:
        """The answer, retried while the platform cannot answer (connection refused, 5xx) for up to `retry_for_s`."""
        deadline = time.monotonic() + retry_for_s
        while True:
            try:
                response = self.http.request(method, url, **kwargs)
                if response.status_code not in RETRYABLE:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.stop_.is_set():
                raise TimeoutError(f"{method} {url} unanswered (for {retry_for_s}s or until the load stopped)")
            time.sleep(0.25)

    def await_read(self, url: str, ready, what: str, timeout_s: float = 90, headers=ADMIN) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stop_.is_set():
            response = self.request("GET", url, headers=headers)
            if response.status_code == 200 and ready(response.json()):
                return response.json()
            time.sleep(0.3)
        raise TimeoutError(f"{what} not visible within {timeout_s}s (or the load stopped)")

    def cycle(self, cycle: int) -> None:
        enrolment, matching, sessions = self.urls["enrolment"], self.urls["matching"], self.urls["sessions"]
        body = {"title": f"Faults {self.number}.{cycle}", "cadence_days": 14, "duration_weeks": 12}
        response = self.request("POST", f"{enrolment}/programs", json=body, headers=ADMIN)
        if response.status_code != 201:
            return self.ledger.note(f"launch: {response.status_code}")
        program = response.json()["program"]["program_id"]
        self.ledger.ack("program", program)

        enrolled = 0
        for n, (role, grade) in enumerate((("mentor", 2), ("mentor", 3), ("mentee", 8), ("mentee", 9))):
            person = f"F{self.number}-{cycle}-{n}-{uuid.uuid4().hex[:6]}"
            body = {
                "employee_id": person,
                "display_name": f"Person {person}",
                "email": f"{person.lower()}@example.com",
                "role": role,
                "grade": grade,
                "birth_year": 1995 if role == "mentor" else 1970,
                "department": f"D{n}",
                "time_zone": "Europe/Paris",
                "languages": ["en"],
                "consent": True,
            }
            url = f"{enrolment}/programs/{program}/participants"
            response = self.request("POST", url, json=body, headers=signed_in(person))
            if response.status_code == 201:
                self.ledger.ack("participant", response.json()["participant"]["participant_id"])
                enrolled += 1
            elif response.status_code != 409:  # 409: a retry of an enrolment that had landed
                self.ledger.note(f"enrol: {response.status_code}")
        self.await_read(f"{matching}/programs/{program}/pool", lambda pool: pool["active"] >= enrolled, "the pool")

        response = self.request("POST", f"{matching}/programs/{program}/rounds", headers=ADMIN)
        if response.status_code != 201:
            return self.ledger.note(f"round: {response.status_code} {response.text[:100]}")
        pairs = response.json()["pairs"]
        for pair in pairs:
            self.ledger.ack("pair", pair["pair_id"])
        for pair in pairs:
            url = f"{sessions}/pairs/{pair['pair_id']}"
            self.await_read(url, lambda p: p["status"] == "active", "the pair in sessions")
            key = f"{pair['pair_id']}-session"
            body = {"held_on": str(date.today()), "minutes": 45, "topics": ["ai"], "learning_direction": "both"}
            mentor = {**token("participant", pair["mentor_id"]), "Idempotency-Key": key}
            response = self.request("POST", f"{url}/sessions", json=body, headers=mentor)
            if response.status_code == 201:
                self.ledger.ack("session", response.json()["session"]["session_id"])
            else:
                self.ledger.note(f"session: {response.status_code}")
            mentee = {**token("participant", pair["mentee_id"]), "Idempotency-Key": f"{pair['pair_id']}-feedback"}
            body = {"rating": 4, "learned": "", "would_continue": True}
            response = self.request("POST", f"{url}/feedback", json=body, headers=mentee)
            if response.status_code == 201:
                self.ledger.ack("feedback", response.json()["feedback"]["feedback_id"])
            else:
                self.ledger.note(f"feedback: {response.status_code}")
