"""Training use cases (issue #16): a program publishes its modules, people read them and pass their checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from services.enrolment.domain import model, training
from services.enrolment.domain.training import CheckResult, Completion, Module
from services.enrolment.service_layer import lookups
from services.enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from shared.errors import Conflict, Invalid, NotFound
from shared.eventstore import AppendResult


async def publish(
    uow: EnrolmentUnitOfWork, program_id: str, module_id: str, content: str
) -> tuple[Module, AppendResult | None]:
    """A program's new version of a module (replacing a shipped one of the same id, or its own); publishing the
    same text as the latest version again changes nothing. The program's row lock orders its publications."""
    parsed = training.parse(content)
    if parsed.module_id != module_id:
        raise Invalid("module_id", f"module_id: the front matter names {parsed.module_id}, the address {module_id}")
    async with uow:
        (await lookups.program_for_update(uow, program_id)).require_open("its training no longer changes")
        latest = await uow.training_modules.latest_of(program_id, module_id)
        if latest is not None and latest.content == content:
            return latest, None
        module = training.as_version(parsed, training.next_version(module_id, latest), program_id)
        await uow.training_modules.add(module)
        stream = f"training-module-{program_id}-{module_id}-v{module.version}"
        return module, await uow.append(stream, 0, [module.published(program_id)])


@dataclass(frozen=True)
class Plan:
    """A program's modules as one person (or, without a participant, an admin) sees them."""

    program: model.Program
    participant: model.Participant | None
    modules: list[Module]
    completions: list[Completion]

    @property
    def required(self) -> tuple[str, ...]:
        return self.program.settings.required_modules

    def completed_version(self, module_id: str) -> int | None:
        return max((c.module_version for c in self.completions if c.module_id == module_id), default=None)

    @property
    def left_to_do(self) -> list[str]:
        """Required modules not completed in any version: a module republished later does not undo a completion."""
        return [m for m in self.required if self.completed_version(m) is None]


async def plan(uow: EnrolmentUnitOfWork, program_id: str, participant_id: str | None) -> Plan:
    """Every module of the program for an admin; for a participant those for their role and the required ones."""
    async with uow:
        program = await lookups.program(uow, program_id)
        modules = training.current(await uow.training_modules.latest(program_id))
        if participant_id is None:
            return Plan(program, None, list(modules.values()), [])
        participant = await lookups.participant(uow, program_id, participant_id)
        completions = await uow.training_completions.of_person(program_id, participant_id)
    role = participant.profile.role
    mine = [m for m in modules.values() if m.is_for(role) or m.module_id in program.settings.required_modules]
    return Plan(program, participant, mine, completions)


async def module(uow: EnrolmentUnitOfWork, program_id: str, module_id: str) -> Module:
    async with uow:
        await lookups.program(uow, program_id)
        found = training.current(await uow.training_modules.latest(program_id)).get(module_id)
    if found is None:
        raise NotFound(f"no training module {module_id} in program {program_id}")
    return found


async def take_check(
    uow: EnrolmentUnitOfWork, program_id: str, participant_id: str, module_id: str, answers: Mapping[str, list[str]]
) -> tuple[Module, CheckResult, AppendResult | None]:
    """Score the answers against the module's latest version; a pass records its completion once per version."""
    async with uow:
        participant = await lookups.participant(uow, program_id, participant_id)
        if participant.status != "active":
            raise Conflict(f"participant {participant_id} is {participant.status}")
        found = training.current(await uow.training_modules.latest(program_id)).get(module_id)
        if found is None:
            raise NotFound(f"no training module {module_id} in program {program_id}")
        result = found.check(answers)
        if not result.passed:
            return found, result, None
        completion = found.completion(program_id, participant_id, result, datetime.now(UTC))
        if not await uow.training_completions.add(completion):
            return found, result, None
        stream = f"training-{program_id}-{participant_id}-{module_id}-v{found.version}"
        return found, result, await uow.append(stream, 0, [training.completed(completion)])


async def known_modules(uow: EnrolmentUnitOfWork, program_id: str) -> set[str]:
    """Inside an open unit of work: the ids a program may require."""
    return set(training.current(await uow.training_modules.latest(program_id)))
