"""Start Tandem services as real processes against this test run's Kafka, database and topic prefix."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from shared.auth import issue_token
from shared.pseudonyms import DEV_PSEUDONYM_KEY

PREFIXES = {
    "enrolment": "/enrolment/v1",
    "matching": "/matching/v1",
    "sessions": "/sessions/v1",
    "insights": "/insights/v1",
    "notifications": "/notifications/v1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(role: str, subject: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject, [role])}"}


def as_person(employee_id: str, key: str = DEV_PSEUDONYM_KEY) -> dict[str, str]:
    """The headers of a person acting as themselves: a participant token naming their employee id, from which each
    service derives their id in a program (per program since ADR 0011, so no single `sub` would do); only they may
    enrol themselves, since enrolling records their consent (issue #14). `key` is the services' pseudonym key,
    which derives the ids; the token does not need it."""
    del key
    return {"Authorization": f"Bearer {issue_token('person', ['participant'], employee_id=employee_id)}"}


def signed_in(employee_id: str) -> dict[str, str]:
    """The headers of a person signed in with an identity provider's token naming their employee id: the services
    derive the participant id with their own pseudonym key (shared/auth.py)."""
    return {"Authorization": f"Bearer {issue_token('person', ['participant'], employee_id=employee_id)}"}


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: str | None = None  # the process's output appended there instead of the test's own

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIXES[self.name]}"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> ServiceProcess:
        env = {**self.env, "TANDEM_HTTP_PORT": str(self.port)}
        output = open(self.log_path, "ab") if self.log_path else None  # the child keeps its own copy
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output:
            output.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} while starting")
            try:
                if httpx.get(f"{self.root}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.name} was not ready within {timeout_s}s")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def running(name: str, env: dict[str, str]) -> Iterator[ServiceProcess]:
    """One service as a real process for a fixture's lifetime (`yield from running(...)`); it must stop cleanly on
    SIGTERM."""
    service = ServiceProcess(name, env).start()
    yield service
    assert service.stop() == 0, f"{name} stops cleanly on SIGTERM"


def service_env(child_env: dict[str, str], **extra: str) -> dict[str, str]:
    """A service's environment on test servers: the development keys are allowed (TANDEM_DEVELOPMENT)."""
    return {
        **child_env,
        "TANDEM_DEVELOPMENT": "true",
        "TANDEM_LOG_LEVEL": os.environ.get("TANDEM_LOG_LEVEL", "INFO"),
        **extra,
    }


def eventually(check, timeout_s: float = 60, what: str = "condition", interval_s: float = 0.2):
    """Poll `check()` until it returns something truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)
