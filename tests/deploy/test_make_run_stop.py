"""The newcomer's path: `make run`, then `make stop`, and nothing is left listening on the service ports.

An earlier deploy/local/platform.sh recorded the pid of the subshell that started each service, so `make stop`
reported "stopped" and left all four services holding their ports. This test runs both targets for real, on ports
of its own (TANDEM_PORT_BASE) and against this run's servers and database (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL:
`make` then starts no infrastructure, and `make stop` must leave those servers running).

`make run` also starts Mailpit, the local mail catcher (issue #17): the demo round's introductions arrive in its
inbox, one per member of each pair, and `make stop` stops it too.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.registry import SERVICES
from tests.support.infra import Store, own_store, store_name
from tests.support.services import eventually

REPO = Path(__file__).resolve().parents[2]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def free_port_base() -> int:
    """A base whose service ports (base + 1..5) and Mailpit's (base + 25, 26) are free, away from the developer's."""
    for base in range(21000, 60000, 97):
        if not any(listening(base + offset) for offset in (1, 2, 3, 4, 5, 25, 26)):
            return base
    raise RuntimeError("no seven free ports")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie has let go of its ports but still answers kill(0) until its parent reaps it
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1].startswith("Z")


def introductions(inbox: str) -> list[dict]:
    """The introductions in Mailpit's inbox, through its HTTP API."""
    answer = httpx.get(f"{inbox}/api/v1/messages", params={"limit": 1000}, timeout=10)
    answer.raise_for_status()
    return [m for m in answer.json()["messages"] if m["Subject"].startswith("Meet your Tandem partner")]


def await_true(check, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.fixture
async def empty_store(infra, run_id) -> AsyncIterator[Store]:
    """A database and topics of this test's own: the demo `make run` loads must find them empty (a program whose
    people another test enrolled would leave the demo's round without pairs), whichever tests ran first."""
    async with own_store(infra, store_name(run_id, "run")) as store:
        yield store


# `make run` alone may take minutes on a busy 2-core machine (it measured 6.5 min with other suites running).
@pytest.mark.timeout(900)
def test_make_run_then_make_stop_leaves_nothing_listening(empty_store, tmp_path):
    dsn, kafka = empty_store.dsn, empty_store.kafka
    base = free_port_base()
    ports = [base + spec.default_port % 1000 for spec in SERVICES]
    smtp_port, inbox_port = base + 25, base + 26  # Mailpit's, by platform.sh's rule under TANDEM_PORT_BASE
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.kafka_bootstrap_servers,
        "DATABASE_URL": dsn,
        "TANDEM_TOPIC_PREFIX": kafka.topic_prefix,
        "TANDEM_PORT_BASE": str(base),
        "TANDEM_LOCAL_DIR": str(tmp_path),
        "TANDEM_PYTHON": sys.executable,
        "TANDEM_DEMO_SIZE": "24",
        # The identity provider is not what this test is about: `make` uses the one named, starts none of its own.
        "TANDEM_KEYCLOAK_URL": os.environ.get("TANDEM_KEYCLOAK_URL", "http://127.0.0.1:8180"),
    }
    env.pop("TANDEM_DEVELOPMENT", None)  # platform.sh sets it for the services it starts
    # The virtualenv running this test is the one `make` would install: `-o venv` keeps make from re-syncing it.
    make = ["make", "--no-print-directory", "-C", str(REPO), f"VENV={sys.prefix}", "-o", "venv"]
    run_dir = tmp_path / "run"
    try:
        run = subprocess.run([*make, "run"], env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        assert all(listening(port) for port in ports)
        pids = [int((run_dir / f"{spec.name}.pid").read_text()) for spec in SERVICES]
        # the recorded pid is the service's own python process, not a shell around it
        for spec, pid in zip(SERVICES, pids, strict=True):
            assert f"services.{spec.name}" in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        inbox = f"http://127.0.0.1:{inbox_port}"
        assert f"Mailpit inbox: {inbox}" in run.stdout
        pids.append(int((run_dir / "mailpit.pid").read_text()))
        ports += [smtp_port, inbox_port]
        # The demo round's introductions arrive in Mailpit: one per member of each pair, each under its own id.
        pairs = int(re.search(r"matching round \S+: (\d+) pairs", run.stdout).group(1))
        eventually(lambda: len(introductions(inbox)) >= 2 * pairs, 120, "the demo's introductions in Mailpit")
        arrived = introductions(inbox)
        assert len(arrived) == 2 * pairs and len({m["MessageID"] for m in arrived}) == 2 * pairs
    finally:
        stop = subprocess.run([*make, "stop"], env=env, capture_output=True, text=True, timeout=300)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert await_true(lambda: not any(listening(port) for port in ports), 10), "a service port still answers"
    assert await_true(lambda: all(gone(pid) for pid in pids), 10)
    assert not list(run_dir.glob("*.pid"))
    # the shared servers were not make's to stop
    host, port = kafka.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)
    assert listening(int(port), host) and "leaving" in stop.stdout
