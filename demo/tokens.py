"""Bearer tokens for scripts, `make token` and the demo: the realm's, from Keycloak, when the local platform signs
in with it (deploy/local/platform.sh records that in `<TANDEM_LOCAL_DIR>/run/auth.env`), else a development token
signed with the shared key.

From Keycloak, a program admin's token is the `tandem-cli` client's own (client credentials); the other roles'
are a demo user's, by the test-only `tandem-test` client's password grant: `auditor`, `exec.sponsor`, or for a
participant the user named, or the demo employee with the employee id given (default: the first demo employee).
A development token for an employee id carries it in the employee-id claim, as a provider's token does.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import httpx
import typer

from demo.keycloak_realm import CLI_CLIENT_SECRET, DEMO_PASSWORD, REALM, TEST_CLIENT_SECRET, username
from demo.organisation import organisation
from shared.auth import ROLES, issue_token
from shared.oidc import discover

REPO = Path(__file__).resolve().parents[1]
USERS = {"auditor": "auditor", "executive_sponsor": "exec.sponsor"}


def keycloak_url() -> str | None:
    """The Keycloak the local platform's services trust, or None when they use the development key."""
    auth_env = Path(os.environ.get("TANDEM_LOCAL_DIR", REPO / ".local")) / "run" / "auth.env"
    if not auth_env.exists():
        return None
    settings = dict(line.split("=", 1) for line in auth_env.read_text().split() if "=" in line)
    return settings.get("TANDEM_KEYCLOAK_URL")


def token(
    role: str,
    subject: str = "local-admin",
    user: str | None = None,
    ttl_s: int = 8 * 3600,
    employee_id: str | None = None,
) -> str:
    url = keycloak_url()
    if url is None:
        return issue_token(subject, [role], ttl_s, employee_id=employee_id)
    if employee_id is not None and user is None:
        user = demo_user(employee_id)
    endpoint = token_endpoint(url)
    if role == "program_admin" and user is None:
        form = {"grant_type": "client_credentials", "client_id": "tandem-cli", "client_secret": CLI_CLIENT_SECRET}
    else:
        form = {
            "grant_type": "password",
            "client_id": "tandem-test",
            "client_secret": TEST_CLIENT_SECRET,
            "username": user or USERS.get(role) or username(organisation()[0]),
            "password": DEMO_PASSWORD,
            "scope": "openid",
        }
    return httpx.post(endpoint, data=form, timeout=30).raise_for_status().json()["access_token"]


@cache
def token_endpoint(keycloak: str) -> str:
    """The realm's token endpoint, discovered once per process (the demo asks for hundreds of tokens)."""
    return discover(f"{keycloak.rstrip('/')}/realms/{REALM}").token_endpoint


def demo_user(employee_id: str) -> str:
    """The realm's user name of the demo employee with this employee id."""
    for person in organisation():
        if person.employee_id == employee_id:
            return username(person)
    raise typer.BadParameter(f"no demo employee (demo/organisation.py) has employee id {employee_id}")


def main(
    role: str = typer.Option("program_admin", help=" | ".join(ROLES)),
    sub: str = typer.Option("local-admin", help="Development tokens only: the subject (a participant's id)."),
    user: str | None = typer.Option(None, help="Keycloak only: the demo user to sign in as."),
    employee_id: str | None = typer.Option(None, help="The person the token names, by employee id."),
) -> None:
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    typer.echo(token(role, sub, user, employee_id=employee_id))


if __name__ == "__main__":
    typer.run(main)
