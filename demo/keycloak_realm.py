"""`python -m demo.keycloak_realm`: writes the local Keycloak realm (deploy/local/keycloak/tandem-realm.json).

The realm `tandem` holds the demo organisation's people (demo/organisation.py, the same seed as `python -m demo`)
as users, each with an `employee_id` attribute, a group for their department, e-mail and names, plus four staff
accounts: an HR programme admin, a business unit's admin, an auditor and an executive sponsor (staff groups
ADMIN_GROUPS and SPONSOR_GROUPS say which programmes they run or sponsor). Everyone's password is DEMO_PASSWORD.

Tokens of every client carry what the services read (shared/auth.py): `aud` = `tandem-api`, a top-level `roles`
claim with the realm roles, and `employee_id`; `groups` names the departments. Clients:
- `tandem-web`: public, authorization code with PKCE (S256), for the web pages on 127.0.0.1/localhost:8001-8005;
- `tandem-api`: no flow of its own, it names the audience the APIs check;
- `tandem-cli`: confidential, client credentials, its service account holds `program_admin` (scripts);
- `tandem-test` and `tandem-test-short-lived`: confidential, password grant, for tests only (the second one's
  access tokens live TEST_SHORT_TOKEN_LIFESPAN_S seconds, so a test sees one expire).

The file is generated, deterministic and committed; `--check` fails when it is stale (a unit test runs it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

from demo.organisation import DEPARTMENTS, Person, organisation

REALM = "tandem"
REALM_FILE = Path(__file__).resolve().parents[1] / "deploy" / "local" / "keycloak" / "tandem-realm.json"
# A documented password for every demo account of the local, loopback-only provider: never a real one.
DEMO_PASSWORD = "tandem-demo"
API_AUDIENCE = "tandem-api"
CLI_CLIENT_SECRET = "tandem-cli-local-secret"
TEST_CLIENT_SECRET = "tandem-test-local-secret"
TEST_SHORT_TOKEN_LIFESPAN_S = 5
ACCESS_ROLES = {
    "program_admin": "Runs mentoring programmes.",
    "auditor": "Reads everything, changes nothing.",
    "participant": "Takes part in a programme and acts only for themselves.",
    "executive_sponsor": "Reads the dashboard of the programmes they sponsor.",
}
# Web pages of the local services (8001-8004, and 8005 for the next one), by both loopback names.
WEB_ORIGINS = [f"http://{host}:{port}" for host in ("127.0.0.1", "localhost") for port in range(8001, 8006)]
# Groups that administer or sponsor programs (a program names them in `admin_groups` / `sponsor_groups`): the HR
# team runs the organisation-wide programs, a business unit's admin runs only its own.
ADMIN_GROUPS = {"hr-programs": "HR's programme team", "digital-bu-admins": "The digital business unit's admins"}
SPONSOR_GROUPS = {"executive-sponsors": "Executive sponsors of the programmes"}
STAFF = [
    # username, first name, last name, employee id, realm role, groups
    ("hr.admin", "Harriet", "Admin", "S0001", "program_admin", ["People", "hr-programs"]),
    ("auditor", "Audrey", "Auditor", "S0002", "auditor", ["People"]),
    ("exec.sponsor", "Esther", "Sponsor", "S0003", "executive_sponsor", ["executive-sponsors"]),
    ("bu.admin", "Bruno", "Unit", "S0004", "program_admin", ["Technology", "digital-bu-admins"]),
]


def username(person: Person) -> str:
    return person.display_name.lower().replace(" ", ".")


def realm(size: int = 200, seed: int = 7) -> dict:
    people = organisation(size, seed)
    return {
        "realm": REALM,
        "displayName": "Tandem (local demo)",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": True,
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "roles": {"realm": [{"name": name, "description": text} for name, text in ACCESS_ROLES.items()]},
        "groups": [{"name": group, "path": f"/{group}"} for group in [*DEPARTMENTS, *ADMIN_GROUPS, *SPONSOR_GROUPS]],
        "clients": [_web_client(), _api_client(), _cli_client(), *_test_clients()],
        "users": [
            *(_staff_user(*staff) for staff in STAFF),
            *(_employee(person) for person in people),
            {
                "username": "service-account-tandem-cli",
                "enabled": True,
                "serviceAccountClientId": "tandem-cli",
                "realmRoles": ["program_admin"],
            },
        ],
        "components": {"org.keycloak.userprofile.UserProfileProvider": [_user_profile()]},
    }


def _employee(person: Person) -> dict:
    first, last = person.display_name.split(" ", 1)
    return _user(username(person), first, last, person.email, person.employee_id, "participant", person.department)


def _staff_user(name: str, first: str, last: str, employee_id: str, role: str, groups: list[str]) -> dict:
    return _user(name, first, last, f"{name}@example.com", employee_id, role, *groups)


def _user(name: str, first: str, last: str, email: str, employee_id: str, role: str, *groups: str) -> dict:
    return {
        "username": name,
        "enabled": True,
        "email": email,
        "emailVerified": True,
        "firstName": first,
        "lastName": last,
        "attributes": {"employee_id": [employee_id]},
        "credentials": [_demo_password()],
        "realmRoles": [role],
        "groups": [f"/{group}" for group in groups],
    }


@cache
def _demo_password() -> dict:
    """DEMO_PASSWORD as Keycloak stores it (pbkdf2-sha512, its default iterations), hashed here once: a plain
    `value` would be hashed at import for every user, which costs the first start of a fresh machine ~30 s. One
    fixed salt keeps the file deterministic; the password is public anyway. Keycloak re-hashes it with its current
    algorithm at a user's first sign-in."""
    salt, iterations = b"tandem-demo-salt", 210_000
    derived = hashlib.pbkdf2_hmac("sha512", DEMO_PASSWORD.encode(), salt, iterations, dklen=64)
    secret = {"value": base64.b64encode(derived).decode(), "salt": base64.b64encode(salt).decode()}
    data = {"hashIterations": iterations, "algorithm": "pbkdf2-sha512", "additionalParameters": {}}
    return {
        "type": "password",
        "temporary": False,
        "secretData": json.dumps({**secret, "additionalParameters": {}}),
        "credentialData": json.dumps(data),
    }


def _claim_mappers() -> list[dict]:
    """What the APIs read, put in every client's tokens."""

    def mapper(name: str, kind: str, **config: str) -> dict:
        tokens = {"access.token.claim": "true", "id.token.claim": "true", "userinfo.token.claim": "true"}
        return {"name": name, "protocol": "openid-connect", "protocolMapper": kind, "config": {**tokens, **config}}

    return [
        mapper("roles", "oidc-usermodel-realm-role-mapper", **{"claim.name": "roles", "multivalued": "true"}),
        mapper(
            "employee id",
            "oidc-usermodel-attribute-mapper",
            **{"user.attribute": "employee_id", "claim.name": "employee_id", "jsonType.label": "String"},
        ),
        mapper("departments", "oidc-group-membership-mapper", **{"claim.name": "groups", "full.path": "false"}),
        {
            "name": "api audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.client.audience": API_AUDIENCE, "access.token.claim": "true"},
        },
    ]


def _web_client() -> dict:
    return {
        "clientId": "tandem-web",
        "name": "Tandem web pages",
        "enabled": True,
        "publicClient": True,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
        "redirectUris": [f"{origin}/*" for origin in WEB_ORIGINS],
        "webOrigins": WEB_ORIGINS,
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        "protocolMappers": _claim_mappers(),
    }


def _api_client() -> dict:
    return {
        "clientId": API_AUDIENCE,
        "name": "Tandem APIs (the audience their tokens name)",
        "enabled": True,
        "publicClient": False,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
    }


def _confidential(client_id: str, name: str, secret: str, **flags: bool) -> dict:
    return {
        "clientId": client_id,
        "name": name,
        "enabled": True,
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secret,
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": flags.get("password", False),
        "serviceAccountsEnabled": flags.get("client_credentials", False),
        "protocolMappers": _claim_mappers(),
    }


def _cli_client() -> dict:
    return _confidential("tandem-cli", "Tandem scripts", CLI_CLIENT_SECRET, client_credentials=True)


def _test_clients() -> list[dict]:
    short_lived = _confidential(
        "tandem-test-short-lived", "Tests only: expiring tokens", TEST_CLIENT_SECRET, password=True
    )
    short_lived["attributes"] = {"access.token.lifespan": str(TEST_SHORT_TOKEN_LIFESPAN_S)}
    return [_confidential("tandem-test", "Tests only", TEST_CLIENT_SECRET, password=True), short_lived]


def _user_profile() -> dict:
    """Keycloak's default user profile plus `employee_id`, which only an admin (or an import) may set: a person
    who could edit it in the account console could claim to be someone else."""
    everyone = {"view": ["admin", "user"], "edit": ["admin", "user"]}
    name_rules = {"length": {"max": 255}, "person-name-prohibited-characters": {}}
    attributes = [
        {
            "name": "username",
            "displayName": "${username}",
            "validations": {
                "length": {"min": 3, "max": 255},
                "username-prohibited-characters": {},
                "up-username-not-idn-homograph": {},
            },
            "permissions": everyone,
            "multivalued": False,
        },
        {
            "name": "email",
            "displayName": "${email}",
            "validations": {"email": {}, "length": {"max": 255}},
            "required": {"roles": ["user"]},
            "permissions": everyone,
            "multivalued": False,
        },
        {
            "name": "firstName",
            "displayName": "${firstName}",
            "validations": name_rules,
            "required": {"roles": ["user"]},
            "permissions": everyone,
            "multivalued": False,
        },
        {
            "name": "lastName",
            "displayName": "${lastName}",
            "validations": name_rules,
            "required": {"roles": ["user"]},
            "permissions": everyone,
            "multivalued": False,
        },
        {
            "name": "employee_id",
            "displayName": "Employee id",
            "validations": {"length": {"max": 64}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin"]},
            "multivalued": False,
        },
    ]
    config = {"attributes": attributes, "groups": []}
    return {"providerId": "declarative-user-profile", "config": {"kc.user.profile.config": [json.dumps(config)]}}


def render(size: int = 200, seed: int = 7) -> str:
    return json.dumps(realm(size, seed), indent=1, ensure_ascii=False) + "\n"


def sign_in_help(base_url: str = "http://127.0.0.1:8180", shown: int = 3) -> str:
    """Where to sign in and who with, as `make run` prints it."""
    people = organisation(200, 7)
    seniors = [username(p) for p in people if p.role == "mentee"][:1]
    juniors = [username(p) for p in people if p.role == "mentor"][:shown]
    accounts = [staff[0] for staff in STAFF] + seniors + juniors
    lines = [
        "Sign in on the pages (click 'Sign in'): the dashboard http://127.0.0.1:8004/insights/v1/dashboard",
        "  and the participant page http://127.0.0.1:8004/insights/v1/participant",
        f"  (Keycloak's account console: {base_url}/realms/{REALM}/account)",
        f"  demo users, password '{DEMO_PASSWORD}': {', '.join(accounts)}",
        f"  (every demo employee: deploy/local/keycloak/tandem-realm.json; Keycloak admin: {base_url}/admin)",
    ]
    return "\n".join(lines)


app = typer.Typer(add_completion=False)


@app.command()
def main(
    output: Annotated[Path, typer.Option(help="Where to write the realm.")] = REALM_FILE,
    size: int = typer.Option(200, help="Demo employees (the organisation `python -m demo` enrols)."),
    seed: int = 7,
    check: bool = typer.Option(False, help="Write nothing; fail when the file differs from what would be written."),
    sign_in: bool = typer.Option(False, "--sign-in", help="Print where to sign in and a few demo users."),
    base_url: str = typer.Option("http://127.0.0.1:8180", help="Keycloak's address, for --sign-in."),
) -> None:
    if sign_in:
        typer.echo(sign_in_help(base_url))
        return
    text = render(size, seed)
    if check:
        if not output.exists() or output.read_text() != text:
            typer.echo(f"{output} is stale: run python -m demo.keycloak_realm", err=True)
            sys.exit(1)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    typer.echo(f"wrote realm '{REALM}' with {size + len(STAFF)} users to {output}")


if __name__ == "__main__":
    app()
