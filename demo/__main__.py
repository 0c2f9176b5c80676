"""`python -m demo`: a seeded reverse-mentoring program walked through all four services over HTTP.

Enrols ~200 people of a generated organisation, runs a matching round, logs sessions and feedback for the
pairs, withdraws a few people, then prints where to look. Deterministic for a given --seed.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date

import httpx
import typer

from demo import tokens
from demo.keycloak_realm import username
from demo.organisation import organisation

app = typer.Typer(add_completion=False)


def bearer(role: str, subject: str = "demo-admin", user: str | None = None) -> dict[str, str]:
    """Keycloak's token when the platform signs in with it (a participant's as its demo user), else a
    development token naming `subject`."""
    return {"Authorization": f"Bearer {tokens.token(role, subject, user)}"}


def wait(what: str, check, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.3)


@app.command()
def main(
    host: str = "http://127.0.0.1",
    size: int = typer.Option(200, envvar="TANDEM_DEMO_SIZE", help="Participants to enrol."),
    seed: int = 7,
    port_base: int = typer.Option(
        8000, envvar="TANDEM_PORT_BASE", help="The services listen on this plus 1 to 4, as deploy/local/platform.sh."
    ),
) -> None:
    rng = random.Random(seed)
    enrolment, matching = f"{host}:{port_base + 1}/enrolment/v1", f"{host}:{port_base + 2}/matching/v1"
    sessions, insights = f"{host}:{port_base + 3}/sessions/v1", f"{host}:{port_base + 4}/insights/v1"
    admin = bearer("program_admin")
    http = httpx.Client(timeout=120)

    program = (
        http.post(
            f"{enrolment}/programs",
            headers=admin,
            json={
                "title": f"Digital leaders (demo {seed})",
                "objectives": "Leaders learn digital and social media from junior colleagues; juniors gain visibility.",
                "targets": {"pairs_formed": 40, "sessions_per_pair": 3, "average_rating": 4.0, "match_rate": 0.5},
                "cadence_days": 14,
                "duration_weeks": 26,
                "focus_areas": ["digital-skills", "diversity"],
                "languages": ["en", "fr", "de"],
                "optimize_for": "participation",
            },
        )
        .raise_for_status()
        .json()["program"]
    )
    program_id = program["program_id"]
    typer.echo(f"launched {program['title']} ({program_id})")

    people = organisation(size, seed)
    imported = http.post(f"{enrolment}/roster", json={"rows": [p.roster_row() for p in people]}, headers=admin)
    typer.echo(f"imported the roster: {imported.raise_for_status().json()['accepted']} people")
    ids = {}
    for person in people:
        # Each person enrols themselves (only they can consent): a token naming their employee id, as after sign-in.
        token = tokens.token("participant", user=username(person), employee_id=person.employee_id)
        itself = {"Authorization": f"Bearer {token}"}
        reply = http.post(f"{enrolment}/programs/{program_id}/participants", json=person.enrolment(), headers=itself)
        ids[person.employee_id] = reply.raise_for_status().json()["participant"]["participant_id"]
    typer.echo(f"enrolled {len(people)} participants")

    pool = f"{matching}/programs/{program_id}/pool"
    wait("matching's pool", lambda: http.get(pool, headers=admin).json().get("active") == len(people))
    round_ = http.post(f"{matching}/programs/{program_id}/rounds", headers=admin).raise_for_status().json()
    pairs = round_["pairs"]
    typer.echo(f"matching round {round_['round_id']}: {len(pairs)} pairs, {len(round_['unmatched'])} unmatched")

    today = date.today()
    users = {ids[person.employee_id]: username(person) for person in people}  # Keycloak's demo users
    for pair in pairs:
        url = f"{sessions}/pairs/{pair['pair_id']}"
        wait(f"sessions to know {pair['pair_id']}", lambda url=url: http.get(url, headers=admin).status_code == 200)
        mentor, mentee = (bearer("participant", pair[m], users[pair[m]]) for m in ("mentor_id", "mentee_id"))
        held = rng.choice([0, 1, 2, 3, 3, 4])
        for _ in range(held):
            http.post(
                f"{url}/sessions",
                headers={**mentor, "Idempotency-Key": str(uuid.uuid4())},
                json={
                    # The round formed the pairs today: no session is dated before its pair started.
                    "held_on": str(today),
                    "minutes": rng.choice([30, 45, 60]),
                    "topics": rng.sample(
                        [
                            "social media",
                            "generative AI",
                            "strategy",
                            "leadership",
                            "data visualisation",
                            "negotiation",
                            "inclusion",
                        ],
                        2,
                    ),
                    "learning_direction": rng.choice(
                        ["mentor_to_mentee", "mentor_to_mentee", "both", "mentee_to_mentor"]
                    ),
                    "notes": "demo session",
                },
            ).raise_for_status()
        if held:
            for side in (mentor, mentee):
                http.post(
                    f"{url}/feedback",
                    headers=side,
                    json={
                        "rating": rng.choice([2, 3, 4, 4, 5, 5]),
                        "learned": "a new way of seeing the business",
                        "would_continue": rng.random() < 0.85,
                    },
                ).raise_for_status()
    typer.echo("logged sessions and feedback")

    for person in rng.sample(people, 3):
        http.post(
            f"{enrolment}/programs/{program_id}/participants/{ids[person.employee_id]}/withdraw",
            headers=admin,
            json={"reason": "changed roles"},
        ).raise_for_status()
    typer.echo("withdrew 3 participants (their pairs dissolve by themselves)")

    report = f"{insights}/programs/{program_id}/report"
    wait("insights", lambda: http.get(report, headers=admin).status_code == 200)
    typer.echo("")
    typer.echo(f"Program {program_id} is live. Look at:")
    typer.echo(f"  insights report  {report}")
    typer.echo(f"  CSV export       {insights}/programs/{program_id}/export.csv")
    typer.echo(f"  pairs            {matching}/programs/{program_id}/pairs")
    typer.echo(f"  API docs         {enrolment}/docs  (and {matching}/docs, {sessions}/docs, {insights}/docs)")
    typer.echo("  a token          make token ROLE=program_admin   (send as 'Authorization: Bearer <token>')")


if __name__ == "__main__":
    app()
