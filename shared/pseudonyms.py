"""Pseudonymous participant ids: what every event carries instead of an employee id.

A participant's id is an HMAC of their employee id under one secret key shared by the services
(`TANDEM_PSEUDONYM_KEY`), so nobody needs a lookup table nor to know their pseudonym: every service derives it from
a signed-in person's employee-id claim (shared/auth.py), and enrolment derives it when it enrols.

Two schemes (docs/adr/0011-pseudonyms-per-program.md):
- `per-program` (every program launched since issue #19): the HMAC covers the program id too, so one person has
  an unrelated id in each program and a subscriber to the events cannot link them across programs without the key;
- `global` (the legacy scheme of programs launched before): one id per person in every program. Such a program keeps
  it, so its ids, its reporting chains and its log stay consistent.
A service that does not know a program's scheme recognises a signed-in person under both (`ids_in`): the legacy id
is theirs as much as the per-program one, so accepting it grants nobody anything they did not have.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

DEV_PSEUDONYM_KEY = "tandem-local-pseudonym-key-do-not-use-in-production"

# How a program derives its participants' ids; recorded on ProgramLaunched (`pseudonyms`). A new key or a new
# derivation is a new scheme name here, chosen at launch the same way (the ADR's rotation stance).
PseudonymScheme = Literal["per-program", "global"]
CURRENT_SCHEME: PseudonymScheme = "per-program"
LEGACY_SCHEME: PseudonymScheme = "global"


def _id(key: str, message: bytes) -> str:
    return f"p-{hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:20]}"


def legacy_pseudonym(key: str, employee_id: str) -> str:
    """The `global` scheme: one id for the person in every program launched before per-program pseudonyms."""
    return _id(key, employee_id.strip().encode())


def pseudonym(key: str, program_id: str, employee_id: str) -> str:
    """A participant's id in one program: stable for one employee in that program, unrelated between programs,
    meaningless without the key.

    The message is length-prefixed (each part's byte length, then the part), so no (program, employee) pair can
    collide with another by moving characters across the boundary, nor with a legacy message (which has no
    prefix and no separator byte). Managers in a reporting chain get their id in the same program, so matching can
    keep people with power over each other apart without ever seeing an employee number.
    """
    parts = [b"tandem/per-program/v1", program_id.encode(), employee_id.strip().encode()]
    return _id(key, b"".join(len(p).to_bytes(4, "big") + p for p in parts))


def pseudonym_in(scheme: PseudonymScheme, key: str, program_id: str, employee_id: str) -> str:
    """The employee's id in a program that uses `scheme`."""
    if scheme == LEGACY_SCHEME:
        return legacy_pseudonym(key, employee_id)
    return pseudonym(key, program_id, employee_id)


def ids_in(key: str, program_id: str, employee_id: str) -> frozenset[str]:
    """Every id the employee may have in the program, whatever its scheme: for services that do not know it."""
    return frozenset({legacy_pseudonym(key, employee_id), pseudonym(key, program_id, employee_id)})
