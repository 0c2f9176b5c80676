"""The roster's use cases: HR's imports and the identity provider's provisioning (SCIM), each in one unit of work
with the profile updates of the enrolled people they change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.enrolment.domain import roster
from services.enrolment.domain.roster import RosterEntry, RowProblem
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import NotFound
from shared.events import RosterImported
from shared.pseudonyms import legacy_pseudonym

DEACTIVATED = "deactivated by the identity provider"


@dataclass(frozen=True)
class ImportReport:
    import_id: str
    accepted: int
    rejected: list[RowProblem]
    participants_updated: int


async def import_roster(uow: EnrolmentUnitOfWork, rows: Sequence[Any], key: str) -> ImportReport:
    """Keep the good rows, report the bad ones; enrolled people whose department, grade or line changed follow."""
    import_id = f"imp-{uuid.uuid4().hex[:12]}"
    async with uow:
        plan = roster.plan_import(rows, await uow.roster.everyone())
        updated = await _write(uow, plan.entries, key)
        imported = RosterImported(
            import_id=import_id,
            rows_accepted=plan.accepted,
            rows_rejected=len(plan.rejected),
            participants_updated=updated,
        )
        await uow.append(f"roster-{import_id}", 0, [imported])
    return ImportReport(import_id, plan.accepted, plan.rejected, updated)


async def entries(uow: EnrolmentUnitOfWork, offset: int, limit: int) -> tuple[list[RosterEntry], int]:
    async with uow:
        return await uow.roster.page(offset, limit)


async def provision(uow: EnrolmentUnitOfWork, entry: RosterEntry, key: str) -> RosterEntry:
    """Create or replace one person (SCIM); deactivating them withdraws them from every program."""
    async with uow:
        await _write(uow, roster.rechain(await uow.roster.everyone(), [entry]), key)
        if not entry.active:
            await _withdraw_everywhere(uow, entry.employee_id)
        stored = await uow.roster.get(entry.employee_id)
    assert stored is not None
    return stored


async def deprovision(uow: EnrolmentUnitOfWork, employee_id: str) -> None:
    """The identity provider deleted the person: withdrawn from every program, and out of the roster."""
    async with uow:
        if await uow.roster.get(employee_id) is None:
            raise NotFound("no such user")
        await _withdraw_everywhere(uow, employee_id)
        await uow.roster.remove(employee_id)


async def find(uow: EnrolmentUnitOfWork, scim_id: str) -> RosterEntry:
    async with uow:
        found = await uow.roster.by_pseudonym(scim_id)
    if found is None:
        raise NotFound("no such user")
    return found


async def find_by_employee(uow: EnrolmentUnitOfWork, employee_id: str) -> RosterEntry | None:
    async with uow:
        return await uow.roster.get(employee_id)


async def find_by_user_name(uow: EnrolmentUnitOfWork, user_name: str) -> RosterEntry | None:
    async with uow:
        return await uow.roster.by_user_name(user_name)


async def resolve_manager(uow: EnrolmentUnitOfWork, reference: str) -> str:
    """A SCIM manager reference is the manager's SCIM id; an employee id (what some providers send) is taken as is."""
    async with uow:
        found = await uow.roster.by_pseudonym(reference)
    return found.employee_id if found else reference


# ---------------------------------------------------------------------------------------------------- helpers


async def _write(uow: EnrolmentUnitOfWork, written: Sequence[RosterEntry], key: str) -> int:
    """Store the entries, then publish the changes of the enrolled people among them; how many changed."""
    written = [replace(e, pseudonym=legacy_pseudonym(key, e.employee_id)) for e in written]  # SCIM ids
    await uow.roster.put_many(written)
    by_employee = {e.employee_id: e for e in written}
    updated = 0
    for participant in await uow.participants.active_of_employees(list(by_employee)):
        followed, event = roster.follow_roster(participant, by_employee[participant.employee_id], key)
        if event is not None:
            result = await uow.append(participant.stream_id, participant.version, [event])
            followed = replace(followed, version=result.version)
            updated += 1
        await uow.participants.save(followed)
    return updated


async def _withdraw_everywhere(uow: EnrolmentUnitOfWork, employee_id: str) -> None:
    for participant in await uow.participants.active_of_employees([employee_id]):
        withdrawn, event = participant.withdraw(DEACTIVATED)
        if event is not None:
            result = await uow.append(participant.stream_id, participant.version, [event])
            await uow.participants.save(replace(withdrawn, version=result.version))
