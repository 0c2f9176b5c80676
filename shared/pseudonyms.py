"""Pseudonymous participant ids: what every event carries instead of an employee id.

Every service computes the same id from a signed-in person's employee-id claim (shared/auth.py), so nobody needs to
know their pseudonym; enrolment computes it when it enrols. The key is one secret shared by the services
(`TANDEM_PSEUDONYM_KEY`).
"""

from __future__ import annotations

import hashlib
import hmac

DEV_PSEUDONYM_KEY = "tandem-local-pseudonym-key-do-not-use-in-production"


def pseudonym(key: str, employee_id: str) -> str:
    """A participant's id in every event: stable for one employee, meaningless without the key.

    Managers in a reporting chain get the same pseudonym, so matching can keep people with power over each
    other apart without ever seeing an employee number.
    """
    digest = hmac.new(key.encode(), employee_id.strip().encode(), hashlib.sha256).hexdigest()
    return f"p-{digest[:20]}"
