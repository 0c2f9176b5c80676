"""deploy/compose.yaml against the Compose Specification's JSON schema (shipped by check-jsonschema)."""

import subprocess
import sys
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


def test_compose_file_is_valid_against_the_compose_specification():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_whole_platform_hardened():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    platform = ("enrolment", "matching", "sessions", "insights", "notifications")
    assert {"kafka", "postgres", "topics", *platform} <= services.keys()
    for name in platform:
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"]
    # Notifications sends to the local mail catcher unless told of a relay.
    assert services["notifications"]["environment"]["TANDEM_SMTP_HOST"] == "${TANDEM_SMTP_HOST:-mailpit}"
    assert services["mailpit"]["read_only"] is True and services["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]
