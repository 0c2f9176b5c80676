"""The realm the project keeps for its local Keycloak (deploy/local/keycloak/tandem-realm.json), without a server."""

import json
import subprocess
from pathlib import Path

from demo.keycloak_realm import API_AUDIENCE, REALM_FILE, STAFF, WEB_ORIGINS, realm, render, username
from demo.organisation import organisation
from tests.support.infra import CROSSES_A_PROCESS, pytest_run

REPO = Path(__file__).resolve().parents[2]
KEPT = json.loads(REALM_FILE.read_text())


def test_the_kept_realm_is_what_the_generator_writes():
    assert REALM_FILE.read_text() == render(), "stale: run python -m demo.keycloak_realm"


def test_every_demo_employee_is_a_participant_with_their_employee_id_and_department():
    users = {user["username"]: user for user in KEPT["users"]}
    people = organisation()
    assert len(users) == len(people) + len(STAFF) + 1  # the scripts' service account
    for person in people:
        user = users[username(person)]
        assert user["attributes"] == {"employee_id": [person.employee_id]}
        assert user["groups"] == [f"/{person.department}"]
        assert user["email"] == person.email
        assert user["realmRoles"] == ["participant"]
    assert {users[name]["realmRoles"][0] for name, *_ in STAFF} == {"program_admin", "auditor", "executive_sponsor"}


def test_only_an_admin_may_change_an_employee_id():
    (profile,) = KEPT["components"]["org.keycloak.userprofile.UserProfileProvider"]
    attributes = json.loads(profile["config"]["kc.user.profile.config"][0])["attributes"]
    employee_id = next(a for a in attributes if a["name"] == "employee_id")
    assert employee_id["permissions"]["edit"] == ["admin"]


def test_every_client_that_issues_tokens_puts_roles_employee_id_and_the_api_audience_in_them():
    for client in KEPT["clients"]:
        if client["clientId"] == API_AUDIENCE:
            continue
        mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
        assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == "roles"
        assert mappers["oidc-usermodel-attribute-mapper"]["claim.name"] == "employee_id"
        assert mappers["oidc-audience-mapper"]["included.client.audience"] == API_AUDIENCE


def test_the_web_client_is_public_with_pkce_and_only_loopback_redirects():
    web = next(client for client in realm()["clients"] if client["clientId"] == "tandem-web")
    assert web["publicClient"] and web["standardFlowEnabled"] and not web["directAccessGrantsEnabled"]
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert all(uri.startswith(("http://127.0.0.1:", "http://localhost:")) for uri in web["redirectUris"])
    assert web["webOrigins"] == WEB_ORIGINS


def run_identity_test(ci: str) -> subprocess.CompletedProcess:
    target = "tests/identity/test_keycloak_tokens.py::test_discovery_names_the_realm_and_its_signing_key"
    return pytest_run(target, ci, TANDEM_KEYCLOAK_URL="http://127.0.0.1:1")


@CROSSES_A_PROCESS
def test_a_missing_keycloak_fails_the_run_under_ci_and_skips_elsewhere():
    under_ci = run_identity_test("true")
    assert under_ci.returncode == 1, under_ci.stdout
    assert "CI needs real infrastructure: Keycloak" in under_ci.stdout
    elsewhere = run_identity_test("")
    assert elsewhere.returncode == 0, elsewhere.stdout
    assert "1 skipped" in elsewhere.stdout.splitlines()[-1]
