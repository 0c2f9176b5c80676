"""Sealed fields: the parts of an event that describe a person, encrypted under that person's key (shared/keys.py)
before the event is hashed and stored, opened again only where a projection turns a record into a typed event.

`SEALED` says which fields of which events, under whose key, and what each reads as once the key is destroyed (a
value the event's contract accepts, so replays and reports keep working and counting: an erased person's
department reads "(erased)"). A sealed value is the string `sealed:v1:<base64url(nonce || AES-GCM ciphertext)>` of
the field's JSON, bound to its subject and field name (the associated data), so it cannot be moved to another
person or field. Everything else in the body stays in the clear: ids, program, role, dates, ratings.

A value that is not sealed (an event stored before sealing existed) is read as it is: existing logs keep working.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import events
from shared.keys import NONCE_BYTES, KeyRing, pair_subject, subject_of

PREFIX = "sealed:v1:"
ERASED_DEPARTMENT = "(erased)"


@dataclass(frozen=True)
class Seal:
    subject: Callable[[dict[str, Any]], str]
    erased: dict[str, Any]  # field -> what it reads as without the key

    def subject_of(self, data: dict[str, Any]) -> str:
        return self.subject(data)


def _participant(data: dict[str, Any]) -> str:
    return subject_of(data["program_id"], data["participant_id"])


def _pair(data: dict[str, Any]) -> str:
    return pair_subject(data["program_id"], data["pair_id"])


_PROFILE = Seal(
    _participant,
    {
        "grade": 0,
        "birth_year": 0,
        "department": ERASED_DEPARTMENT,
        "time_zone": "UTC",
        "languages": [],
        "reporting_chain": [],
        "skills_offered": [],
        "skills_wanted": [],
        "focus_areas": [],
        "communication_style": "",
    },
)

SEALED: dict[str, Seal] = {
    events.ParticipantEnrolled.type_name: _PROFILE,
    events.ParticipantProfileUpdated.type_name: _PROFILE,
    events.ParticipantWithdrawn.type_name: Seal(_participant, {"reason": ""}),
    events.FeedbackGiven.type_name: Seal(lambda d: subject_of(d["program_id"], d["given_by"]), {"learned": ""}),
    # Words about the pair, which either member may have written: under the pair's key, destroyed with either's.
    events.PairDissolved.type_name: Seal(_pair, {"reason": ""}),
    events.SessionHeld.type_name: Seal(_pair, {"topics": []}),
}


def sealed_fields() -> dict[str, frozenset[str]]:
    """Event type -> its sealed fields (the data inventory lists them)."""
    return {type_name: frozenset(seal.erased) for type_name, seal in SEALED.items()}


def subjects(bodies: Iterable[tuple[str, dict[str, Any]]]) -> set[str]:
    """The subjects whose keys the (type, data) bodies need to be sealed."""
    return {SEALED[t].subject_of(d) for t, d in bodies if t in SEALED}


def sealed_subjects(bodies: Iterable[tuple[str, dict[str, Any]]]) -> set[str]:
    """The subjects whose keys the (type, data) bodies need to be opened: those holding a sealed value (a body
    stored before sealing existed, or one a foreign publisher wrote in the clear, needs none)."""
    return {
        SEALED[t].subject_of(d)
        for t, d in bodies
        if t in SEALED and any(is_sealed(d.get(name)) for name in SEALED[t].erased)
    }


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(type_name: str, data: dict[str, Any], ring: KeyRing) -> dict[str, Any]:
    """`data` with its sealed fields encrypted; erased values when the subject's key was destroyed."""
    spec = SEALED.get(type_name)
    if spec is None:
        return data
    subject = spec.subject_of(data)
    key = ring.get(subject)
    sealed = dict(data)
    for name, erased in spec.erased.items():
        if name not in data:
            continue
        if key is None:
            sealed[name] = erased
            continue
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, orjson.dumps(data[name]), _associated(subject, name))
        sealed[name] = PREFIX + base64.urlsafe_b64encode(nonce + ciphertext).decode()
    return sealed


def unseal(type_name: str, data: dict[str, Any], ring: KeyRing) -> dict[str, Any]:
    """`data` with its sealed fields opened; erased values where the key is gone (or the value was tampered with)."""
    spec = SEALED.get(type_name)
    if spec is None or not any(is_sealed(data.get(name)) for name in spec.erased):
        return data
    subject = spec.subject_of(data)
    key = ring.get(subject)
    opened = dict(data)
    for name, erased in spec.erased.items():
        value = data.get(name)
        if not isinstance(value, str) or not is_sealed(value):
            continue
        opened[name] = erased if key is None else _open(key, subject, name, value, erased)
    return opened


def _open(key: bytes, subject: str, name: str, value: str, erased: Any) -> Any:
    raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
    try:
        return orjson.loads(AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(subject, name)))
    except InvalidTag:
        return erased  # not sealed under this subject's key for this field: unreadable, like an erased one


def _associated(subject: str, name: str) -> bytes:
    return f"{subject}|{name}".encode()
