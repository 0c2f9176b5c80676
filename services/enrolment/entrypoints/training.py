"""Training before matching (issue #16), under /enrolment/v1/programs/{program_id}/training: the program's modules
(shipped with the product, replaced or extended by the program), each module's reading and knowledge check, and
the check itself. A program's admins publish; its participants read and answer for themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.enrolment.domain import model
from services.enrolment.domain.training import MAX_CHOICES, MAX_MODULE_BYTES, MAX_QUESTIONS, ChoiceId, Module
from services.enrolment.entrypoints.http import PseudonymKey, Uow, own_id, require_administers, staff
from services.enrolment.service_layer import handlers, training
from shared.auth import Admin, AdminOrParticipant, Participant, Principal
from shared.errors import Forbidden, Invalid
from shared.events import MentoringRole
from shared.http import EventLogPosition
from shared.types import Identifier

router = APIRouter(tags=["training"])


class ModuleSummary(BaseModel):
    module_id: str
    version: int
    title: str
    for_roles: list[MentoringRole]
    minutes: int
    questions: int
    pass_mark: int = Field(description="Correct answers needed to pass the knowledge check.")
    source: str = Field(description="`shipped` with the product, or `program`: published by the program.")
    content_sha256: str

    @classmethod
    def of(cls, module: Module) -> ModuleSummary:
        return cls(
            module_id=module.module_id,
            version=module.version,
            title=module.front.title,
            for_roles=list(module.front.for_roles),
            minutes=module.front.minutes,
            questions=len(module.front.questions),
            pass_mark=module.pass_mark,
            source="shipped" if module.program_id is None else "program",
            content_sha256=module.sha256,
        )


class PlannedModule(ModuleSummary):
    required: bool = Field(description="The program requires it before a participant enters the matching pool.")
    completed_version: int | None = Field(description="The latest version the caller passed; null: not yet.")


class TrainingPlanView(BaseModel):
    program_id: str
    role: MentoringRole | None = Field(description="The caller's role in the program; null for a program admin.")
    required_modules: list[str]
    left_to_do: list[str] = Field(description="Required modules the caller has not completed (empty for admins).")
    modules: list[PlannedModule]


class ChoiceView(BaseModel):
    id: str
    text: str


class QuestionView(BaseModel):
    id: str
    prompt: str
    multiple: bool = Field(description="More than one choice is right: choose all that apply.")
    choices: list[ChoiceView]


class ModuleContent(ModuleSummary):
    """A module to read and its questions, without their answers."""

    body: str = Field(description="The reading, in Markdown.")
    check: list[QuestionView]

    @classmethod
    def of(cls, module: Module) -> ModuleContent:
        questions = [
            QuestionView(
                id=q.id,
                prompt=q.prompt,
                multiple=len(q.answers) > 1,
                choices=[ChoiceView(id=k, text=v) for k, v in q.choices.items()],
            )
            for q in module.front.questions
        ]
        return cls(**ModuleSummary.of(module).model_dump(), body=module.body, check=questions)


class ModulePublished(BaseModel):
    module: ModuleSummary
    event_log: EventLogPosition | None = Field(None, description="Null when the text is the latest version's.")


class Answers(BaseModel):
    answers: Annotated[
        dict[ChoiceId, Annotated[list[ChoiceId], Field(max_length=MAX_CHOICES)]], Field(max_length=MAX_QUESTIONS)
    ] = Field(description="Question id -> the ids of the choices picked; a question left out counts as wrong.")


class CheckOutcome(BaseModel):
    module_id: str
    module_version: int
    score: int
    questions: int
    pass_mark: int
    passed: bool
    wrong: list[str] = Field(description="Ids of the questions answered wrongly.")
    event_log: EventLogPosition | None = Field(
        None, description="The TrainingCompleted recorded; null on a fail or when this version was completed before."
    )


def viewer(principal: Principal, program: model.Program, key: str) -> str | None:
    """Whose plan the caller reads: None for the program's admins (every module), else the participant's own (its
    id in this program)."""
    if principal.administers(staff(program)):
        return None
    if "participant" in principal.roles:
        return own_id(principal, program, key)
    raise Forbidden(f"you do not administer program {program.program_id}")


@router.put(
    "/programs/{program_id}/training/{module_id}",
    response_model=ModulePublished,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The module: Markdown with YAML front matter (module_id, title, for_roles, minutes, "
            f"questions, optional pass_mark), at most {MAX_MODULE_BYTES} bytes of UTF-8.",
            "content": {"text/markdown": {"schema": {"type": "string", "maxLength": MAX_MODULE_BYTES}}},
        }
    },
)
async def publish_module(
    program_id: Identifier, module_id: Identifier, request: Request, principal: Admin, uow: Uow
) -> ModulePublished:
    """Publish the program's version of a module (its admins): replacing a shipped one of the same id, or adding
    one. Each new text is a new version (TrainingModulePublished); the same text again changes nothing."""
    require_administers(principal, await handlers.program(uow, program_id))
    raw = await request.body()
    if len(raw) > MAX_MODULE_BYTES:
        raise Invalid("content", f"content: a module is at most {MAX_MODULE_BYTES} bytes")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("content", "content: the module is not UTF-8 text") from None
    module, result = await training.publish(uow, program_id, module_id, content)
    return ModulePublished(module=ModuleSummary.of(module), event_log=EventLogPosition.of(result) if result else None)


@router.get("/programs/{program_id}/training", response_model=TrainingPlanView)
async def training_plan(
    program_id: Identifier, principal: AdminOrParticipant, uow: Uow, key: PseudonymKey
) -> TrainingPlanView:
    """The program's modules, latest versions: for a participant those for their role and the required ones, with
    what they completed and what is left to do; for the program's admins every module."""
    program = await handlers.program(uow, program_id)
    plan = await training.plan(uow, program_id, viewer(principal, program, key))
    required = set(plan.required)
    return TrainingPlanView(
        program_id=program_id,
        role=plan.participant.profile.role if plan.participant else None,
        required_modules=list(plan.required),
        left_to_do=plan.left_to_do if plan.participant else [],
        modules=[
            PlannedModule(
                **ModuleSummary.of(m).model_dump(),
                required=m.module_id in required,
                completed_version=plan.completed_version(m.module_id),
            )
            for m in plan.modules
        ],
    )


@router.get("/programs/{program_id}/training/{module_id}", response_model=ModuleContent)
async def read_module(
    program_id: Identifier, module_id: Identifier, principal: AdminOrParticipant, uow: Uow, key: PseudonymKey
) -> ModuleContent:
    """A module's reading and knowledge check (without the answers), for the program's admins and participants."""
    participant_id = viewer(principal, await handlers.program(uow, program_id), key)
    if participant_id is not None:
        await handlers.participant(uow, program_id, participant_id)
    return ModuleContent.of(await training.module(uow, program_id, module_id))


@router.post("/programs/{program_id}/training/{module_id}/check", response_model=CheckOutcome)
async def check(
    program_id: Identifier, module_id: Identifier, body: Answers, principal: Participant, uow: Uow, key: PseudonymKey
) -> CheckOutcome:
    """A participant answers a module's knowledge check for itself: the score, and on a pass (every answer right,
    or the module's pass mark) a TrainingCompleted for this module version, recorded once."""
    me = own_id(principal, await handlers.program(uow, program_id), key)
    module, result, appended = await training.take_check(uow, program_id, me, module_id, body.answers)
    return CheckOutcome(
        module_id=module.module_id,
        module_version=module.version,
        score=result.score,
        questions=result.questions,
        pass_mark=module.pass_mark,
        passed=result.passed,
        wrong=list(result.wrong),
        event_log=EventLogPosition.of(appended) if appended else None,
    )
