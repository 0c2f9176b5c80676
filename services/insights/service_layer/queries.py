"""Insights' use cases: load one program's facts, let the domain compute the figures as of an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.insights.adapters import repository
from services.insights.domain import metrics
from services.insights.domain.facts import Facts
from services.insights.domain.report import PairRow, ProgramReport, ProgramSummary
from shared.errors import NotFound


@dataclass(frozen=True)
class Insights:
    pool: asyncpg.Pool


async def programs(svc: Insights) -> list[ProgramSummary]:
    return await repository.list_programs(svc.pool)


async def report(svc: Insights, program_id: str, as_of: datetime) -> ProgramReport:
    return metrics.program_report(await _facts(svc, program_id, as_of), as_of)


async def pair_rows(svc: Insights, program_id: str, as_of: datetime) -> list[PairRow]:
    return metrics.pair_rows(await _facts(svc, program_id, as_of), as_of)


async def _facts(svc: Insights, program_id: str, as_of: datetime) -> Facts:
    facts = await repository.load_facts(svc.pool, program_id, as_of)
    if facts is None:
        raise NotFound(f"no program {program_id}")
    return facts
