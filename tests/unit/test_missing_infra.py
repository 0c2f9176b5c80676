"""Under CI=true a test that needs a server which does not answer must fail, never skip."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Starts child processes: the slow layer (tests/conftest.py), beside the tests that start servers.
CROSSES_A_PROCESS = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
NOWHERE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}


def run_infra_test(ci: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/integration/test_infra.py"],
        cwd=REPO,
        env={**os.environ, **NOWHERE, "CI": ci},
        capture_output=True,
        text=True,
        timeout=120,
    )


@CROSSES_A_PROCESS
def test_missing_servers_fail_the_run_under_ci():
    result = run_infra_test("true")
    assert result.returncode == 1, result.stdout
    assert "CI needs real infrastructure" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


@CROSSES_A_PROCESS
def test_missing_servers_skip_with_the_reason_outside_ci():
    result = run_infra_test("")
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout.splitlines()[-1]
