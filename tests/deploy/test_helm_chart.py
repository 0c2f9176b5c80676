"""The Helm chart: lint, render with default and production-like values, validate every manifest (issue #6)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate import validate
from kubernetes_validate.utils import SchemaNotFoundError

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "tandem"
PRODUCTION = REPO / "deploy" / "helm" / "values-production.yaml"
KUBERNETES = "1.34"


@pytest.fixture(scope="module")
def helm() -> str:
    return subprocess.run(
        [str(REPO / "deploy/tools/helm.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()


def render(helm: str, *values: Path, flags: tuple[str, ...] = ()) -> list[dict]:
    args = [helm, "template", "tandem", str(CHART), *flags] + [a for v in values for a in ("-f", str(v))]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module", params=["default", "production"])
def manifests(request, helm) -> list[dict]:
    return render(helm, *([PRODUCTION] if request.param == "production" else []))


def of_kind(manifests, kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]


@pytest.mark.parametrize("values", [[], [PRODUCTION]], ids=["default", "production"])
def test_helm_lint_passes(helm, values):
    result = subprocess.run(
        [helm, "lint", str(CHART), "--strict", *[a for v in values for a in ("-f", str(v))]],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_validates_against_the_kubernetes_schema(manifests):
    errors = []
    for m in manifests:
        if m["kind"] == "KafkaTopic":
            schema = json.loads((REPO / "deploy/helm/kafkatopic.schema.json").read_text())
            errors += [
                f"KafkaTopic {m['metadata']['name']}: {e.message}"
                for e in jsonschema.Draft7Validator(schema).iter_errors(m)
            ]
            continue
        try:
            validate(m, KUBERNETES, strict=True)
        except SchemaNotFoundError as error:
            errors.append(f"{m['kind']}: no schema ({error})")
        except Exception as error:
            errors.append(f"{m['kind']} {m['metadata']['name']}: {error}")
    assert errors == []


def test_each_service_has_a_deployment_service_hpa_and_pdb(manifests):
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert {m["metadata"]["name"].rsplit("-", 1)[-1] for m in of_kind(manifests, kind)} == {
            "enrolment",
            "matching",
            "sessions",
            "insights",
            "notifications",
        }


def test_containers_are_hardened_and_probed(manifests):
    for deployment in of_kind(manifests, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["terminationGracePeriodSeconds"] > 2 * 20, "room for both drain phases of a 20 s grace"


def test_database_urls_and_secrets_come_from_existing_secrets(manifests):
    for deployment in of_kind(manifests, "Deployment"):
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert "secretKeyRef" in env["DATABASE_URL"]["valueFrom"]
    config = of_kind(manifests, "ConfigMap")[0]["data"]
    assert not any("PASSWORD" in key or "SECRET" in key for key in config)


def test_every_service_gets_the_one_pseudonym_key_and_the_token_claims(manifests):
    """Issue #14: each service turns the employee-id claim into the participant id, so all need the same key."""
    for deployment in of_kind(manifests, "Deployment"):
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["TANDEM_PSEUDONYM_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "tandem-auth",
            "key": "pseudonym-key",
        }
        assert env["TANDEM_MASTER_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "tandem-auth", "key": "master-keys"}
    config = of_kind(manifests, "ConfigMap")[0]["data"]
    assert (config["TANDEM_EMPLOYEE_ID_CLAIM"], config["TANDEM_GROUPS_CLAIM"], config["TANDEM_ROLES_CLAIM"]) == (
        "employee_id",
        "groups",
        "roles",
    )


def test_the_ingress_routes_the_five_prefixes(manifests):
    [ingress] = of_kind(manifests, "Ingress")
    paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths == {"/enrolment/v1", "/matching/v1", "/sessions/v1", "/insights/v1", "/notifications/v1"}


def test_a_pre_install_and_pre_upgrade_job_migrates_every_schema_then_creates_topics(manifests):
    [job] = of_kind(manifests, "Job")
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert sorted(c["command"][-1] for c in pod["initContainers"]) == [
        "enrolment",
        "insights",
        "matching",
        "notifications",
        "sessions",
    ]
    assert all("DATABASE_URL" in {e["name"] for e in c["env"]} for c in pod["initContainers"])
    assert pod["containers"][0]["command"] == ["tandem", "topics", "create"]


def test_production_values_use_three_replicas_sasl_ssl_and_strimzi_topics(helm):
    manifests = render(helm, PRODUCTION)
    assert {h["spec"]["minReplicas"] for h in of_kind(manifests, "HorizontalPodAutoscaler")} == {3}
    assert of_kind(manifests, "ConfigMap")[0]["data"]["TANDEM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    topics = {t["metadata"]["name"]: t for t in of_kind(manifests, "KafkaTopic")}
    assert len(topics) == 6 and all(t["spec"]["replicas"] == 3 for t in topics.values())
    # The event log is kept beyond the release; the contact details (docs/adr/0008) are compacted and not kept.
    contacts = topics.pop("tandem.enrolment.contacts")
    assert contacts["spec"]["config"]["cleanup.policy"] == "compact"
    assert "annotations" not in contacts["metadata"]
    assert all(t["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for t in topics.values())
    [policy] = of_kind(manifests, "NetworkPolicy")
    assert any(p.get("port") == 443 for rule in policy["spec"]["egress"] for p in rule.get("ports", []))
    # Notifications reaches its mail relay (submission port) and takes the relay's password from a Secret.
    assert any(p.get("port") == 587 for rule in policy["spec"]["egress"] for p in rule.get("ports", []))
    [notifications] = [d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"].endswith("notifications")]
    env = {e["name"]: e for e in notifications["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TANDEM_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "tandem-smtp", "key": "password"}
    assert env["TANDEM_SMTP_STARTTLS"]["value"] == "true" and "value" not in env["TANDEM_SMTP_PASSWORD"]


def test_values_are_checked_against_the_values_schema(helm):
    bad = subprocess.run(
        [helm, "template", "tandem", str(CHART), "--set", "kafka.securityProtocol=TELNET"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "securityProtocol" in bad.stderr


def test_a_service_takes_its_own_settings_and_the_schema_rejects_other_names(helm):
    manifests = render(helm, flags=("--set-string", "services.sessions.env.TANDEM_IDEMPOTENCY_KEY_TTL_HOURS=168"))
    env_of = {
        d["metadata"]["name"].removeprefix("tandem-"): {e["name"]: e.get("value") for e in c["env"]}
        for d in of_kind(manifests, "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert env_of["sessions"]["TANDEM_IDEMPOTENCY_KEY_TTL_HOURS"] == "168"
    assert "TANDEM_IDEMPOTENCY_KEY_TTL_HOURS" not in env_of["matching"]
    bad = subprocess.run(
        [helm, "template", "tandem", str(CHART), "--set", "services.sessions.env.PATH=/tmp"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "PATH" in bad.stderr


def test_alert_rules_are_off_by_default_and_render_when_enabled(helm, manifests):
    assert of_kind(manifests, "PrometheusRule") == []
    flags = ("--set", "alerts.enabled=true", "--set-string", "alerts.labels.release=kube-prometheus-stack")
    [rule] = of_kind(render(helm, flags=flags), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(rules) >= {
        "TandemTaskStuck",
        "TandemRelayBacklogGrowing",
        "TandemRelayParkedEvents",
        "TandemProjectionLagGrowing",
        "TandemProjectionDeadLetters",
    }
    assert "tandem_relay_parked_events > 0" in rules["TandemRelayParkedEvents"]["expr"]
    assert "> 600" in rules["TandemTaskStuck"]["expr"]
    assert rules["TandemProjectionLagGrowing"]["for"] == "10m"
    assert all(r["labels"]["severity"] in {"info", "warning", "critical"} for r in rules.values())
    assert "{{ $labels.topic }}" in rules["TandemRelayParkedEvents"]["annotations"]["summary"]
    bad = subprocess.run(
        [helm, "template", "tandem", str(CHART), "--set", "alerts.stuckMinutes=0"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "stuckMinutes" in bad.stderr
