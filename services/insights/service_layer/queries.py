"""Insights' use cases: load one program's facts, let the domain compute the figures as of an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.insights.adapters import repository
from services.insights.domain import metrics
from services.insights.domain.facts import Facts
from services.insights.domain.report import Overview, PairRow, ProgramReport, ProgramSummary
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


async def overview(svc: Insights, program_ids: list[str], as_of: datetime) -> Overview:
    """Headline figures of each program named that insights knows, in launch order (a program whose launch is still
    on its way is left out rather than refused: the caller oversees it, there is just nothing to show yet)."""
    known = [p.program_id for p in await repository.list_programs(svc.pool) if p.program_id in set(program_ids)]
    rows = []
    for program_id in known:
        facts = await repository.load_facts(svc.pool, program_id, as_of)
        if facts is not None:
            rows.append(metrics.overview_row(facts, as_of))
    return Overview(as_of=as_of, programs=rows)


async def _facts(svc: Insights, program_id: str, as_of: datetime) -> Facts:
    facts = await repository.load_facts(svc.pool, program_id, as_of)
    if facts is None:
        raise NotFound(f"no program {program_id}")
    return facts
