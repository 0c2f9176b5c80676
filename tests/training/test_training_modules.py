"""Issue #16 item 1, server-free: training modules as Markdown with front matter (the shipped ones and a program's
own), their versions, the scoring of their knowledge checks, and enrolment's HTTP rules over the in-memory unit of
work (who publishes, who reads, who answers; a pass recorded once per person, module and version; required modules
known or a 422 naming `required_modules`)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from services.enrolment.domain import training
from shared.auth import AuthSettings, issue_token
from shared.errors import Invalid
from tests.support.bodies import invalid_fields as fields
from tests.support.enrolment_app import InProcessEnrolment, roster_entry

KEY = "training-modules-pseudonym-key-32-bytes!"
AUTH = AuthSettings(pseudonym_key=KEY)
WORDING = "I take part, and my partner sees my name."

MODULE = """---
module_id: {module_id}
title: Our way of working
for_roles: [{role}]
minutes: 10
questions:
  - id: q1
    prompt: How often do we meet?
    choices:
      a: Every two weeks
      b: Whenever
    answers: [a]
  - id: q2
    prompt: Which are ours? (all that apply)
    choices:
      a: Candour
      b: Rank
      c: Curiosity
    answers: [a, c]
---

# Our way of working

{text}
"""


def module_text(module_id: str = "our-way", role: str = "both", text: str = "We meet every two weeks.") -> str:
    return MODULE.format(module_id=module_id, role=role, text=text)


def bearer(subject: str, roles: list[str], **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject, roles, settings=AUTH, **claims)}"}


ADMIN = bearer("hr", ["program_admin"], groups=["hr-programs"])
OTHER_ADMIN = bearer("bu", ["program_admin"], groups=["digital-bu-admins"])


def signed_in(employee_id: str) -> dict[str, str]:
    return bearer("person", ["participant"], employee_id=employee_id)


# ------------------------------------------------------------------------------------------------------ domain


def test_the_shipped_modules_cover_mentors_mentees_and_both_each_with_a_check():
    shipped = training.shipped()
    assert {r for m in shipped.values() for r in m.front.for_roles} == {"mentor", "mentee", "both"}
    for module in shipped.values():
        assert module.program_id is None and module.version >= 1
        assert len(module.body) > 1000, f"{module.module_id} should teach something"
        assert 1 <= module.pass_mark <= len(module.front.questions)
        for question in module.front.questions:
            assert set(question.answers) <= set(question.choices)


def test_a_module_is_parsed_from_its_front_matter_and_body():
    module = training.parse(module_text())
    assert (module.module_id, module.version, module.front.for_roles, module.front.minutes) == (
        "our-way",
        1,
        ("both",),
        10,
    )
    assert module.body.startswith("# Our way of working")
    assert module.sha256 == hashlib.sha256(module_text().encode()).hexdigest()
    assert module.pass_mark == 2


@pytest.mark.parametrize(
    "content, says",
    [
        ("# Just text", "no front matter"),
        ("---\nmodule_id: [unclosed\n---\ntext", "not valid YAML"),
        (module_text().replace("minutes: 10", "minutes: 0"), "minutes"),
        (module_text().replace("answers: [a]", "answers: [z]"), "not among its choices"),
        (module_text().replace("id: q2", "id: q1"), "unique"),
        (module_text().replace("for_roles: [both]", "for_roles: [boss]"), "for_roles"),
        (module_text().replace("minutes: 10", "minutes: 10\npass_mark: 3"), "pass_mark"),
        (module_text().replace("minutes: 10", "minutes: 10\nauthor: someone"), "author"),
        (module_text().split("# Our way")[0], "no text"),
        (module_text(text="x" * training.MAX_MODULE_BYTES), "at most"),
    ],
)
def test_a_broken_module_is_refused_naming_content_and_what_is_wrong(content, says):
    with pytest.raises(Invalid) as refused:
        training.parse(content)
    assert refused.value.field == "content"
    assert says in str(refused.value)


def test_a_check_is_right_only_with_exactly_the_right_choices():
    module = training.parse(module_text())
    assert module.check({"q1": ["a"], "q2": ["c", "a"]}).passed
    partial = module.check({"q1": ["a"], "q2": ["a"]})
    assert (partial.score, partial.questions, partial.passed, partial.wrong) == (1, 2, False, ("q2",))
    assert module.check({"q1": ["a", "b"]}).wrong == ("q1", "q2")  # an extra choice, and one left out


def test_a_pass_mark_lets_a_check_pass_with_fewer_right_answers():
    module = training.parse(module_text().replace("minutes: 10", "minutes: 10\npass_mark: 1"))
    assert module.check({"q1": ["a"]}).passed
    assert not module.check({}).passed


def test_answers_to_questions_a_module_does_not_ask_are_refused():
    with pytest.raises(Invalid) as refused:
        training.parse(module_text()).check({"q9": ["a"]})
    assert refused.value.field == "answers"


def test_a_program_version_follows_the_shipped_one_it_replaces_or_its_own_latest():
    shipped = training.shipped()["two-way-partnership"]
    assert training.next_version("two-way-partnership", None) == shipped.version + 1
    assert training.next_version("brand-new", None) == 1
    mine = training.as_version(training.parse(module_text()), 4, "prg-1")
    assert training.next_version("our-way", mine) == 5
    assert training.current([mine])["our-way"] is mine
    assert set(training.current([mine])) == set(training.shipped()) | {"our-way"}


def test_who_reads_a_module_by_role():
    mentor_only = training.parse(module_text(role="mentor"))
    assert mentor_only.is_for("mentor") and mentor_only.is_for("both") and not mentor_only.is_for("mentee")
    assert training.parse(module_text(role="both")).is_for("mentee")


# -------------------------------------------------------------------------------------------------------- HTTP


@pytest.fixture
def enrolment() -> InProcessEnrolment:
    return InProcessEnrolment(KEY, [roster_entry("E1", grade=3), roster_entry("E2", grade=9)])


@pytest.fixture
async def client(enrolment: InProcessEnrolment):
    async with enrolment.client() as client:
        yield client


async def launch(client, **settings) -> str:
    body = {"title": "Digital leaders", "consent_text": WORDING, "admin_groups": ["hr-programs"], **settings}
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["program"]["program_id"]


async def opt_in(client, program_id: str, employee_id: str, role: str) -> None:
    body = {"consent_sha256": hashlib.sha256(WORDING.encode()).hexdigest(), "role": role}
    response = await client.post(f"/programs/{program_id}/enrolments", json=body, headers=signed_in(employee_id))
    assert response.status_code == 201, response.text


async def publish(client, program_id: str, module_id: str, content: str, headers=ADMIN) -> httpx.Response:
    return await client.put(
        f"/programs/{program_id}/training/{module_id}",
        content=content.encode(),
        headers={**headers, "Content-Type": "text/markdown"},
    )


RIGHT = {"q1": ["b"], "q2": ["a", "c", "d"], "q3": ["c"]}  # mentor-feedback-upward's answers


async def test_a_participant_sees_the_modules_for_their_role_and_what_is_left_to_do(client):
    program_id = await launch(client, required_modules=["mentor-feedback-upward"])
    await opt_in(client, program_id, "E1", "mentor")
    plan = (await client.get(f"/programs/{program_id}/training", headers=signed_in("E1"))).json()
    assert plan["role"] == "mentor"
    assert [m["module_id"] for m in plan["modules"]] == ["mentor-feedback-upward", "two-way-partnership"]
    assert plan["left_to_do"] == ["mentor-feedback-upward"]
    assert [m["required"] for m in plan["modules"]] == [True, False]
    admin_view = (await client.get(f"/programs/{program_id}/training", headers=ADMIN)).json()
    assert {m["module_id"] for m in admin_view["modules"]} == set(training.shipped())
    assert admin_view["role"] is None and admin_view["left_to_do"] == []


async def test_a_required_module_is_listed_to_a_participant_whatever_their_role(client):
    program_id = await launch(client, required_modules=["mentor-feedback-upward"])
    await opt_in(client, program_id, "E2", "mentee")
    plan = (await client.get(f"/programs/{program_id}/training", headers=signed_in("E2"))).json()
    assert [m["module_id"] for m in plan["modules"]] == [
        "mentee-learning-from-a-junior",
        "mentor-feedback-upward",
        "two-way-partnership",
    ]


async def test_reading_a_module_gives_its_text_and_questions_without_the_answers(client):
    program_id = await launch(client)
    await opt_in(client, program_id, "E1", "mentor")
    response = await client.get(f"/programs/{program_id}/training/mentor-feedback-upward", headers=signed_in("E1"))
    assert response.status_code == 200, response.text
    module = response.json()
    assert module["body"].lstrip().startswith("# Giving feedback upward")
    assert [q["multiple"] for q in module["check"]] == [False, True, False]
    assert "answers" not in response.text
    missing = await client.get(f"/programs/{program_id}/training/no-such-module", headers=signed_in("E1"))
    assert missing.status_code == 404
    stranger = await client.get(f"/programs/{program_id}/training/mentor-feedback-upward", headers=signed_in("E2"))
    assert stranger.status_code == 404  # not enrolled in this program


async def test_passing_a_check_records_one_completion_per_person_module_and_version(client, enrolment):
    program_id = await launch(client, required_modules=["mentor-feedback-upward"])
    await opt_in(client, program_id, "E1", "mentor")
    url = f"/programs/{program_id}/training/mentor-feedback-upward/check"
    failed = (await client.post(url, json={"answers": {**RIGHT, "q3": ["a"]}}, headers=signed_in("E1"))).json()
    assert (failed["passed"], failed["score"], failed["wrong"], failed["event_log"]) == (False, 2, ["q3"], None)
    assert enrolment.events("training-completed") == []

    passed = (await client.post(url, json={"answers": RIGHT}, headers=signed_in("E1"))).json()
    assert (passed["passed"], passed["score"], passed["questions"]) == (True, 3, 3)
    assert passed["event_log"] is not None
    again = (await client.post(url, json={"answers": RIGHT}, headers=signed_in("E1"))).json()
    assert again["passed"] and again["event_log"] is None
    [completed] = enrolment.events("training-completed")
    participant_id = next(iter(enrolment.state.participants))[1]
    assert completed == {
        "program_id": program_id,
        "participant_id": participant_id,
        "module_id": "mentor-feedback-upward",
        "module_version": 1,
        "score": 3,
        "questions": 3,
    }
    plan = (await client.get(f"/programs/{program_id}/training", headers=signed_in("E1"))).json()
    assert plan["left_to_do"] == [] and plan["modules"][0]["completed_version"] == 1


async def test_only_a_participant_answers_a_check_for_itself(client):
    program_id = await launch(client)
    await opt_in(client, program_id, "E1", "mentor")
    url = f"/programs/{program_id}/training/mentor-feedback-upward/check"
    assert (await client.post(url, json={"answers": RIGHT}, headers=ADMIN)).status_code == 403
    assert (await client.post(url, json={"answers": RIGHT}, headers=signed_in("E2"))).status_code == 404
    unknown = await client.post(url, json={"answers": {"q9": ["a"]}}, headers=signed_in("E1"))
    assert fields(unknown) == ["answers"]


async def test_a_program_replaces_a_shipped_module_with_a_new_version_and_extends_with_its_own(client, enrolment):
    program_id = await launch(client)
    shipped = training.shipped()["two-way-partnership"]
    replaced = await publish(client, program_id, "two-way-partnership", module_text("two-way-partnership"))
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["module"]["version"], replaced.json()["module"]["source"]) == (
        shipped.version + 1,
        "program",
    )
    same = await publish(client, program_id, "two-way-partnership", module_text("two-way-partnership"))
    assert same.json()["event_log"] is None and same.json()["module"]["version"] == shipped.version + 1
    changed = await publish(client, program_id, "two-way-partnership", module_text("two-way-partnership", text="New."))
    assert changed.json()["module"]["version"] == shipped.version + 2
    own = await publish(client, program_id, "our-way", module_text())
    assert own.json()["module"]["version"] == 1

    published = enrolment.events("training-module-published")
    assert [(e["module_id"], e["module_version"]) for e in published] == [
        ("two-way-partnership", 2),
        ("two-way-partnership", 3),
        ("our-way", 1),
    ]
    assert published[2]["content_sha256"] == hashlib.sha256(module_text().encode()).hexdigest()
    listed = (await client.get(f"/programs/{program_id}/training", headers=ADMIN)).json()["modules"]
    assert {m["module_id"]: m["version"] for m in listed}["two-way-partnership"] == 3
    read = (await client.get(f"/programs/{program_id}/training/two-way-partnership", headers=ADMIN)).json()
    assert read["body"].strip().endswith("New.")
    other = await launch(client)
    untouched = (await client.get(f"/programs/{other}/training/two-way-partnership", headers=ADMIN)).json()
    assert untouched["version"] == shipped.version and untouched["source"] == "shipped"


async def test_publishing_is_for_the_program_admins_with_a_sound_module(client, enrolment):
    program_id = await launch(client)
    assert (await publish(client, program_id, "our-way", module_text(), OTHER_ADMIN)).status_code == 403
    assert (await publish(client, program_id, "our-way", module_text(), signed_in("E1"))).status_code == 403
    assert fields(await publish(client, program_id, "other-id", module_text())) == ["module_id"]
    assert fields(await publish(client, program_id, "our-way", "# no front matter")) == ["content"]
    too_big = module_text(text="x" * training.MAX_MODULE_BYTES)
    assert fields(await publish(client, program_id, "our-way", too_big)) == ["content"]
    assert enrolment.events("training-module-published") == []


async def test_required_modules_are_known_ones_at_launch_and_on_a_change(client, enrolment):
    refused = await client.post("/programs", json={"title": "x", "required_modules": ["no-such-module"]}, headers=ADMIN)
    assert fields(refused) == ["required_modules"]
    program_id = await launch(client)
    assert fields(
        await client.patch(f"/programs/{program_id}", json={"required_modules": ["our-way"]}, headers=ADMIN)
    ) == ["required_modules"]
    await publish(client, program_id, "our-way", module_text())
    changed = await client.patch(
        f"/programs/{program_id}", json={"required_modules": ["our-way", "two-way-partnership"]}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["program"]["required_modules"] == ["our-way", "two-way-partnership"]
    [settings] = enrolment.events("program-settings-changed")
    assert settings["required_modules"] == ["our-way", "two-way-partnership"]
