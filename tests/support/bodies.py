"""Request bodies and answers the tests of several services share: one enrolment body, the fields a 422 names."""

from __future__ import annotations

from datetime import date

import httpx


def person(employee_id: str, **overrides) -> dict:
    """An enrolment body (EnrolParticipant) with explicit consent; `overrides` replace or add fields."""
    return {
        "employee_id": employee_id,
        "display_name": f"Person {employee_id}",
        "email": f"{employee_id.lower()}@example.com",
        "role": "mentor",
        "grade": 3,
        "birth_year": 1998,
        "department": "IT",
        "time_zone": "Europe/Paris",
        "languages": ["en"],
        "consent": True,
        **overrides,
    }


def session(**overrides) -> dict:
    """A session body (LogSession) held today, with private notes; `overrides` replace or add fields."""
    return {
        "held_on": str(date.today()),
        "minutes": 45,
        "topics": ["social media"],
        "learning_direction": "mentor_to_mentee",
        "notes": "private",
        **overrides,
    }


def invalid_fields(response: httpx.Response) -> list[str]:
    """The fields a 422 problem document names (RFC 9457, `errors[].field`)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]
