"""The fault suite (issue #13): under a bounded concurrent load, the broker is SIGKILLed and restarted, PostgreSQL
restarted in immediate mode, each service SIGKILLed and restarted, an oversized command sent and poison records of
each kind produced onto the topics. Then every acknowledged effect is looked up in the event stores, on Kafka and in
every read model: none may be lost or doubled, and after each fault everything acknowledged before it must be
visible everywhere again within a bound (the catch-up time). A table of the run is printed and written as JSON.

It runs on servers of its own (deploy/local/infra.sh in .local/faults, on free ports), never on the shared ones,
since it kills them. `make faults` runs it; CI calls that."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shared.settings import KafkaSettings
from shared.topics import create_topics, platform_topics
from tests.faults import ledger_check, poison
from tests.faults.load import ADMIN, Client, Ledger
from tests.faults.own_infra import REPO, OwnInfra
from tests.support.services import ServiceProcess, service_env

pytestmark = [pytest.mark.infra, pytest.mark.faults]

SERVICES = ("enrolment", "matching", "sessions", "insights")
CLIENTS = int(os.environ.get("TANDEM_FAULTS_CLIENTS", "8"))
KAFKA_DOWN_S = 8.0  # how long the broker stays dead: an outage, not a blip
CATCH_UP_S = 60.0  # after a fault, everything acknowledged before it must be everywhere within this
WARM_UP_S = 8.0
PREFIX = "faults"
RESULTS = Path(os.environ.get("TANDEM_FAULTS_RESULTS", REPO / ".local" / "faults-results.json"))
ONE_MB = 1024 * 1024


class Platform:
    """The suite's servers, the four services on them, and the load."""

    def __init__(self, infra: OwnInfra):
        self.infra = infra
        self.env = service_env(
            {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
                "DATABASE_URL": infra.database_url,
                "TANDEM_TOPIC_PREFIX": PREFIX,
                "TANDEM_SHUTDOWN_GRACE_S": "5",
            }
        )
        self.services = {
            name: ServiceProcess(name, self.env, log_path=str(infra.folder / f"{name}.log")) for name in SERVICES
        }
        self.ledger, self.stop_load = Ledger(), threading.Event()
        self.clients: list[Client] = []

    def start(self) -> None:
        settings = KafkaSettings(kafka_bootstrap_servers=self.infra.kafka_bootstrap_servers, topic_prefix=PREFIX)
        asyncio.run(create_topics(settings, platform_topics(PREFIX)))
        for service in self.services.values():
            service.start(timeout_s=120)
        urls = {name: s.url for name, s in self.services.items()}
        self.clients = [Client(n, urls, self.ledger, self.stop_load) for n in range(CLIENTS)]
        for client in self.clients:
            client.start()

    def stop(self) -> None:
        """Whatever happened: the load stopped, then every service process, killed if SIGTERM is not enough."""
        self.stop_load.set()
        for client in self.clients:
            client.join(60)
        for service in self.services.values():
            try:
                service.stop(timeout_s=15)
            except Exception:
                if service.process is not None:
                    service.process.kill()

    def kill_service(self, name: str) -> None:
        """SIGKILL, then the same service again on the same port (the clients keep their URLs)."""
        old = self.services[name]
        assert old.process is not None
        old.process.kill()
        old.process.wait(30)
        self.services[name] = ServiceProcess(name, self.env, port=old.port, log_path=old.log_path).start(120)

    def oversized_command(self) -> str:
        """An admin's program with a list field of about 1.2 MB: refused (413/422), or if accepted, an effect that
        must reach Kafka and every read model like any other (and must not stop the events behind it)."""
        body = {"title": "Oversized", "cadence_days": 14, "duration_weeks": 12, "focus_areas": ["x" * 100] * 12_000}
        assert len(json.dumps(body)) > ONE_MB
        response = httpx.post(f"{self.services['enrolment'].url}/programs", json=body, headers=ADMIN, timeout=60)
        if response.status_code == 201:
            self.ledger.ack("program", response.json()["program"]["program_id"])
        return f"answered {response.status_code}"

    def poison(self) -> str:
        sent = asyncio.run(poison.inject(self.infra.kafka_bootstrap_servers, PREFIX))
        return f"{len(sent)} records"

    def findings(self, effects) -> ledger_check.Findings | None:
        try:
            return asyncio.run(
                ledger_check.check(effects, self.infra.database_url, self.infra.kafka_bootstrap_servers, PREFIX)
            )
        except Exception:  # a server still coming back: not caught up yet
            return None

    def catch_up(self, limit_s: float = CATCH_UP_S) -> float | None:
        """Seconds until every effect acknowledged so far is everywhere; None if not within `limit_s`."""
        started, effects = time.monotonic(), self.ledger.snapshot()
        while time.monotonic() - started < limit_s:
            found = self.findings(effects)
            if found is not None and found.clean:
                return round(time.monotonic() - started, 1)
            time.sleep(0.5)
        return None


def kill_kafka(platform: Platform) -> str:
    platform.infra.kill_kafka()
    time.sleep(KAFKA_DOWN_S)  # the outage itself: the load goes on against a platform without its broker
    platform.infra.start_kafka()
    return f"down {KAFKA_DOWN_S:.0f}s"


def restart_postgres(platform: Platform) -> str:
    platform.infra.restart_postgres_immediately()
    return "immediate"


def kill(name: str) -> Callable[[Platform], str]:
    def fault(platform: Platform) -> str:
        platform.kill_service(name)
        return "restarted"

    return fault


FAULTS: list[tuple[str, Callable[[Platform], str]]] = [
    ("kafka SIGKILL", kill_kafka),
    ("postgresql restart (immediate)", restart_postgres),
    *((f"{name} SIGKILL", kill(name)) for name in SERVICES),
    # Poison before the oversized command: a relay stalled by the latter would hide how projections take the former.
    ("poison records (bad JSON, unknown type, NUL, int4 overflow)", Platform.poison),
    ("oversized command (~1.2 MB list)", Platform.oversized_command),
]


@pytest.fixture(scope="module")
def platform():
    infra = OwnInfra(REPO / ".local" / "faults").up()
    platform = Platform(infra)
    try:
        platform.start()
        yield platform
    finally:
        try:
            platform.stop()
        finally:
            infra.down()


@pytest.mark.timeout(900)  # the faults take about three minutes; a stalled flow adds a catch-up limit per fault
def test_no_acknowledged_effect_is_lost_or_doubled_through_faults(platform: Platform):
    rows = []
    time.sleep(WARM_UP_S)  # a baseline of effects acknowledged before any fault
    rows.append({"fault": "baseline", "note": "", "catch_up_s": platform.catch_up()})
    for name, fault in FAULTS:
        platform.ledger.phase = name
        note = fault(platform)
        rows.append({"fault": name, "note": note, "catch_up_s": platform.catch_up()})
        print(f"[faults] {name}: {note}; caught up after {rows[-1]['catch_up_s']}s", flush=True)

    platform.ledger.phase = "after the last fault"
    time.sleep(WARM_UP_S)  # the load goes on over the recovered platform
    platform.stop_load.set()
    for client in platform.clients:
        client.join(60)
    final_catch_up = platform.catch_up(limit_s=2 * CATCH_UP_S)
    rows.append({"fault": "after the last fault", "note": "load stopped", "catch_up_s": final_catch_up})

    effects = platform.ledger.snapshot()
    findings = platform.findings(effects)
    assert findings is not None, "the servers answer after the run"
    for row in rows:
        phase = [e for e in effects if e.phase == row["fault"]]
        row |= {
            "acknowledged": len(phase),
            "lost": sum(1 for e in phase if e in findings.lost),
            "doubled": sum(1 for e in phase if e in findings.doubled),
        }
    report = {
        "rows": rows,
        "acknowledged": len(effects),
        "by_kind": {k: sum(1 for e in effects if e.kind == k) for k in ledger_check.KINDS},
        "redelivered_on_kafka": findings.redelivered,
        "lost_examples": [
            f"{e.kind} {e.id} ({e.phase}): missing from {', '.join(w)}" for e, w in findings.lost.items()
        ][:20],
        "doubled_examples": [
            f"{e.kind} {e.id} ({e.phase}): twice in {', '.join(w)}" for e, w in findings.doubled.items()
        ][:20],
        "client_notes": platform.ledger.failures[:50],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(table(rows), f"\n{len(effects)} acknowledged effects; results in {RESULTS}", sep="")

    assert {k for k, n in report["by_kind"].items() if n == 0} == set(), "every kind of effect was acknowledged"
    assert not findings.lost, f"{len(findings.lost)} acknowledged effects lost: {report['lost_examples']}"
    assert not findings.doubled, f"{len(findings.doubled)} effects doubled: {report['doubled_examples']}"
    late = [row["fault"] for row in rows if row["catch_up_s"] is None]
    assert not late, f"not caught up within {CATCH_UP_S:.0f}s after: {late}"


def table(rows: list[dict]) -> str:
    lines = [f"\n{'fault':<62} {'acknowledged':>12} {'lost':>6} {'doubled':>8} {'catch-up s':>11}  note"]
    for row in rows:
        catch_up = "never" if row["catch_up_s"] is None else f"{row['catch_up_s']:.1f}"
        lines.append(
            f"{row['fault']:<62} {row['acknowledged']:>12} {row['lost']:>6} {row['doubled']:>8} {catch_up:>11}  "
            f"{row['note']}"
        )
    return "\n".join(lines)
