"""The fault suite's own Kafka and PostgreSQL: `deploy/local/infra.sh` in a folder and on ports of their own, so the
suite can SIGKILL and restart them without touching the servers other test runs share."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import eventually, free_port

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"


@dataclass
class OwnInfra:
    folder: Path
    kafka_port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    pg_port: int = field(default_factory=free_port)

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://tandem@127.0.0.1:{self.pg_port}/tandem"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "TANDEM_LOCAL_DIR": str(self.folder),
            # The jars of the usual folder are reused rather than fetched again (infra.sh fetches them if absent).
            "TANDEM_CACHE_DIR": os.environ.get("TANDEM_CACHE_DIR", str(REPO / ".local" / "cache")),
            "TANDEM_KAFKA_PORT": str(self.kafka_port),
            "TANDEM_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "TANDEM_PG_PORT": str(self.pg_port),
            "TANDEM_KEYCLOAK": "off",  # the faults need no identity provider
            **extra,
        }

    def run(self, command: str, **extra: str) -> None:
        """infra.sh `command`; its output goes to infra.log, and a failure fails the suite (never a skip)."""
        with open(self.folder / "infra.log", "ab") as log:
            done = subprocess.run([str(INFRA), command], env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            tail = (self.folder / "infra.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"deploy/local/infra.sh {command} failed ({done.returncode}):\n{tail}")

    def up(self) -> OwnInfra:
        shutil.rmtree(self.folder, ignore_errors=True)  # a fresh cluster and broker every run
        self.folder.mkdir(parents=True)
        self.run("up")
        return self

    def down(self) -> None:
        self.run("down")

    def kafka_pid(self) -> int:
        [pid_file] = self.folder.glob("kafka-*/kafka.pid")
        return int(pid_file.read_text())

    def kill_kafka(self) -> None:
        """SIGKILL the broker: no controlled shutdown, its logs recovered on the next start."""
        pid = self.kafka_pid()
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: "zombie" in _state(pid), 30, "the broker to die", interval_s=0.05)

    def start_kafka(self) -> None:
        self.run("kafka-up")

    def restart_postgres_immediately(self) -> None:
        """Stop PostgreSQL in immediate mode (as a crash: every connection cut, recovery from the WAL), then start."""
        self.run("pg-restart", TANDEM_PG_STOP_MODE="immediate")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"
