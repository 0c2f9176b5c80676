"""schemathesis against a service's OpenAPI document: bounded examples per operation, positive and negative, with a
valid token; every 5xx and every response that breaks the document (status code or body schema) is collected, so a
run reports how many there were per service instead of stopping at the first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("TANDEM_SCHEMATHESIS_EXAMPLES", "30"))


@dataclass(frozen=True)
class Finding:
    operation: str
    status: int
    problem: str

    def __str__(self) -> str:
        return f"{self.operation} -> {self.status}: {self.problem}"


@dataclass
class Conformance:
    service: str
    requests: int = 0
    server_errors: list[Finding] = field(default_factory=list)
    violations: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.service}: {self.requests} requests, {len(self.server_errors)} responses of 5xx, "
            f"{len(self.violations)} schema violations"
        ]
        lines += [f"  5xx  {f}" for f in self.server_errors[:20]]
        lines += [f"  schema  {f}" for f in self.violations[:20]]
        return "\n".join(lines)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, BaseExceptionGroup):
        text = "; ".join(str(e).strip().splitlines()[0] for e in error.exceptions if str(e).strip())
    return text.splitlines()[0][:300]


def exercise(
    schema: schemathesis.BaseSchema,
    service: str,
    headers: Mapping[str, str],
    base_url: str | None = None,
    max_examples: int = MAX_EXAMPLES,
) -> Conformance:
    report = Conformance(service)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,  # the same examples on every run: CI is reproducible
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=base_url, headers=dict(headers), timeout=30)
                report.requests += 1
                label = case.operation.label
                if response.status_code >= 500:
                    report.server_errors.append(Finding(label, response.status_code, response.text[:200]))
                    return
                try:
                    case.validate_response(response, checks=CHECKS, headers=dict(headers))
                except (AssertionError, BaseExceptionGroup) as failure:
                    report.violations.append(Finding(label, response.status_code, _first_line(failure)))

            call()
    print(report.summary())
    return report
