"""Training modules (issue #16), free of I/O: Markdown with YAML front matter, parsed and checked; the modules shipped
with the product (services/enrolment/training/); which modules a person sees; scoring a knowledge check.

A module's front matter names it (`module_id`, `version`, `title`, `for_roles`, `minutes`) and holds its knowledge
check: `questions`, each with an `id`, a `prompt`, `choices` (choice id -> text) and the correct `answers`; an
optional `pass_mark` (correct answers needed) defaults to every question. The body is the reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Self

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import Invalid
from shared.events import MentoringRole, TrainingCompleted, TrainingModulePublished
from shared.types import Text

SHIPPED = Path(__file__).parents[1] / "training"
# A module is a page of reading and a few questions: 64 KiB is several times the longest one shipped.
MAX_MODULE_BYTES = 64 * 1024
MAX_QUESTIONS = 20
MAX_CHOICES = 8

ModuleId = Annotated[str, Text(64, min_length=1, one_line=True), Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
ChoiceId = Annotated[str, Text(16, min_length=1, one_line=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Question(_Strict):
    id: ChoiceId
    prompt: Annotated[str, Text(1000, min_length=1)]
    choices: Annotated[dict[ChoiceId, Annotated[str, Text(500, min_length=1)]], Field(min_length=2, max_length=8)]
    answers: Annotated[tuple[ChoiceId, ...], Field(min_length=1, max_length=MAX_CHOICES)]

    @model_validator(mode="after")
    def answers_are_choices(self) -> Self:
        if unknown := sorted(set(self.answers) - set(self.choices)):
            raise ValueError(f"question {self.id}: answers {unknown} are not among its choices")
        return self

    def right(self, chosen: Iterable[str]) -> bool:
        """Right when exactly the correct choices are chosen: one missing or one extra is wrong."""
        return set(chosen) == set(self.answers)


class FrontMatter(_Strict):
    module_id: ModuleId
    version: int = Field(1, ge=1)
    title: Annotated[str, Text(200, min_length=1, one_line=True)]
    for_roles: Annotated[tuple[MentoringRole, ...], Field(min_length=1, max_length=3)]
    minutes: int = Field(ge=1, le=600)
    pass_mark: int | None = Field(None, ge=1, description="Correct answers needed to pass; default: all.")
    questions: Annotated[tuple[Question, ...], Field(min_length=1, max_length=MAX_QUESTIONS)]

    @model_validator(mode="after")
    def consistent(self) -> Self:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        if self.pass_mark is not None and self.pass_mark > len(self.questions):
            raise ValueError(f"pass_mark {self.pass_mark} exceeds the {len(self.questions)} questions")
        return self


@dataclass(frozen=True)
class Completion:
    """A person passed a module version's knowledge check."""

    program_id: str
    participant_id: str
    module_id: str
    module_version: int
    score: int
    questions: int
    completed_at: datetime


@dataclass(frozen=True)
class CheckResult:
    score: int
    questions: int
    passed: bool
    wrong: tuple[str, ...]  # ids of the questions answered wrongly, so the person knows what to read again


@dataclass(frozen=True)
class Module:
    """A module's content as published: `program_id` None for a module shipped with the product."""

    front: FrontMatter
    body: str
    content: str
    program_id: str | None = None

    @property
    def module_id(self) -> str:
        return self.front.module_id

    @property
    def version(self) -> int:
        return self.front.version

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    @property
    def pass_mark(self) -> int:
        return self.front.pass_mark or len(self.front.questions)

    def is_for(self, role: str) -> bool:
        """Someone who takes either role reads every module; a module for both roles is for everyone."""
        return role == "both" or "both" in self.front.for_roles or role in self.front.for_roles

    def check(self, answers: Mapping[str, Iterable[str]]) -> CheckResult:
        questions = {q.id: q for q in self.front.questions}
        if unknown := sorted(set(answers) - set(questions)):
            raise Invalid("answers", f"answers: no question {', '.join(unknown)} in module {self.module_id}")
        wrong = tuple(q.id for q in self.front.questions if not q.right(answers.get(q.id, ())))
        score = len(questions) - len(wrong)
        return CheckResult(score, len(questions), score >= self.pass_mark, wrong)

    def published(self, program_id: str) -> TrainingModulePublished:
        return TrainingModulePublished(
            program_id=program_id,
            module_id=self.module_id,
            module_version=self.version,
            for_roles=self.front.for_roles,
            content_sha256=self.sha256,
        )

    def completion(self, program_id: str, participant_id: str, result: CheckResult, at: datetime) -> Completion:
        if not result.passed:
            raise ValueError("only a passed check completes a module")
        return Completion(program_id, participant_id, self.module_id, self.version, result.score, result.questions, at)


def completed(completion: Completion) -> TrainingCompleted:
    return TrainingCompleted(
        program_id=completion.program_id,
        participant_id=completion.participant_id,
        module_id=completion.module_id,
        module_version=completion.module_version,
        score=completion.score,
        questions=completion.questions,
    )


def parse(content: str, program_id: str | None = None) -> Module:
    """The module a Markdown text with front matter describes; a 422 on `content` saying what is wrong."""
    if len(content.encode()) > MAX_MODULE_BYTES:
        raise Invalid("content", f"content: a module is at most {MAX_MODULE_BYTES} bytes")
    try:
        post = frontmatter.loads(content)
    except yaml.YAMLError as error:
        raise Invalid("content", f"content: the front matter is not valid YAML ({_first_line(error)})") from None
    if not post.metadata:
        raise Invalid("content", "content: no front matter (a block between '---' lines opening the text)")
    try:
        front = FrontMatter.model_validate(post.metadata)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'front matter'}: {e['msg']}" for e in error.errors())
        raise Invalid("content", f"content: {problems}") from None
    if not post.content.strip():
        raise Invalid("content", "content: the module has no text after its front matter")
    return Module(front=front, body=post.content, content=content, program_id=program_id)


def as_version(module: Module, version: int, program_id: str) -> Module:
    """The module a program publishes, under the version the program's history gives it (what its front matter says
    is ignored: versions only rise, and the service counts them)."""
    front = module.front.model_copy(update={"version": version})
    return Module(front=front, body=module.body, content=module.content, program_id=program_id)


@cache
def shipped() -> dict[str, Module]:
    """The modules shipped with the product, by id."""
    modules = [parse(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob("*.md"))]
    return {m.module_id: m for m in modules}


def current(program_modules: Iterable[Module]) -> dict[str, Module]:
    """A program's modules as they stand: the shipped ones, each replaced by the program's latest version of it, and
    the program's own; `program_modules` are the program's latest versions."""
    return {**shipped(), **{m.module_id: m for m in program_modules}}


def next_version(module_id: str, latest: Module | None) -> int:
    """A program's version of a module follows the newest one it replaces: its own latest, else the shipped one."""
    base = latest or shipped().get(module_id)
    return base.version + 1 if base else 1


def check_required(required: Iterable[str], known: Iterable[str]) -> None:
    if unknown := sorted(set(required) - set(known)):
        raise Invalid("required_modules", f"required_modules: no training module {', '.join(unknown)}")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
