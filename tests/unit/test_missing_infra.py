"""Under CI=true a test that needs a server which does not answer must fail, never skip."""

import subprocess

from tests.support.infra import CROSSES_A_PROCESS, pytest_run

NOWHERE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}


def run_infra_test(ci: str) -> subprocess.CompletedProcess:
    return pytest_run("tests/integration/test_infra.py", ci, **NOWHERE)


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
