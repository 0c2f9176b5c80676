"""Issue #16's recognition in enrolment, in-process over the in-memory unit of work: certificates for each member
of a completed pair (once; never for a dissolved pair), their PDF read back with pypdf (names, program, skills by
direction, the verification code), the public verification, kudos between partners, who sees a program's
recognition list, and a person's record."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf
import pytest

from services.enrolment.domain.model import Partnership
from services.enrolment.domain.recognition import MAX_KUDOS_PER_MEMBER, skills_exchanged
from services.enrolment.service_layer import handlers, recognition
from services.enrolment.service_layer.unit_of_work import InMemoryEnrolmentUnitOfWork
from shared.events import ParticipantEnrolled
from shared.keys import pair_subject, subject_of
from shared.pseudonyms import pseudonym
from tests.enrolment.test_enrolment_self_service import (
    ADMIN,
    AUDITOR,
    KEY,
    OTHER_ADMIN,
    WORDING,
    bearer,
    entry,
    opt_in,
    signed_in,
)
from tests.support.enrolment_app import InProcessEnrolment

SPONSOR = bearer("exec", ["executive_sponsor"], groups=["executive-sponsors"])
OTHER_SPONSOR = bearer("exec2", ["executive_sponsor"], groups=["elsewhere"])
# E1, E2 and E3's ids in the test's program: set by the `program_id` fixture, as ids are per program (ADR 0011).
MENTOR = MENTEE = STRANGER = ""
FORMED = datetime(2026, 3, 1, tzinfo=UTC)
COMPLETED_ON = date(2026, 6, 1)


@pytest.fixture
def enrolment() -> InProcessEnrolment:
    return InProcessEnrolment(KEY, [entry(e) for e in ("E1", "E2", "E3")])


@pytest.fixture
async def client(enrolment: InProcessEnrolment):
    async with enrolment.client() as client:
        yield client


@pytest.fixture
async def program_id(client) -> str:
    body = {
        "title": "Digital leaders",
        "consent_text": WORDING,
        "admin_groups": ["hr-programs"],
        "sponsor_groups": ["executive-sponsors"],
    }
    response = await client.post("/programs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    program_id = response.json()["program"]["program_id"]
    global MENTOR, MENTEE, STRANGER
    MENTOR, MENTEE, STRANGER = (pseudonym(KEY, program_id, e) for e in ("E1", "E2", "E3"))
    return program_id


@pytest.fixture
async def pair(client, enrolment, program_id) -> str:
    """E1 (a junior mentor offering TikTok and data viz) and E2 (a senior mentee wanting TikTok, offering budgeting
    that E1 wants) completed a pair whose sessions covered short video (mentor to mentee) and forecasting (both)."""
    await opt_in(
        client, program_id, "E1", role="mentor", skills_offered=["TikTok", "data viz"], skills_wanted=["budgeting"]
    )
    await opt_in(client, program_id, "E2", role="mentee", skills_offered=["Budgeting"], skills_wanted=["tiktok"])
    await opt_in(client, program_id, "E3", role="mentee")
    enrolment.state.partnerships["pair-1"] = Partnership(
        program_id, "pair-1", MENTOR, MENTEE, FORMED, completed_on=COMPLETED_ON
    )
    enrolment.state.partnership_topics["pair-1"] = [("short video", "mentor_to_mentee"), ("forecasting", "both")]
    return "pair-1"


async def certify(enrolment, pair_id: str):
    return await recognition.issue_certificates(InMemoryEnrolmentUnitOfWork(enrolment.state, enrolment.store), pair_id)


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(content)).pages)


# ------------------------------------------------------------------------------------------------- erasure


async def test_an_erasure_forgets_the_topics_of_the_persons_pairs_and_destroys_their_and_the_pairs_keys(
    enrolment, pair, program_id
):
    """Issue #19: the topics are words about the pair, sealed in SessionHeld under its key; erasing either member
    destroys that key, so the partnerships read model forgets them as a replay would; other pairs keep theirs."""
    enrolment.state.partnerships["pair-9"] = Partnership(program_id, "pair-9", "p-someone", STRANGER, FORMED)
    enrolment.state.partnership_topics["pair-9"] = [("excel", "both")]
    uow = InMemoryEnrolmentUnitOfWork(enrolment.state, enrolment.store)
    await handlers.erase(uow, program_id, MENTOR)
    assert enrolment.state.partnership_topics == {"pair-9": [("excel", "both")]}
    assert uow.keys.stored == {subject_of(program_id, MENTOR): None, pair_subject(program_id, pair): None}


# ------------------------------------------------------------------------------------------------- the policy


async def test_each_member_of_a_completed_pair_gets_one_certificate_once(enrolment, pair):
    first = await certify(enrolment, pair)
    assert first is not None
    assert await certify(enrolment, pair) is None, "issuing again changes nothing"
    issued = [e for e in enrolment.store.events if e.type.endswith("certificate-issued.v1")]
    assert sorted(e.data["participant_id"] for e in issued) == sorted([MENTOR, MENTEE])
    assert {tuple(sorted(e.data)) for e in issued} == {("certificate_id", "pair_id", "participant_id", "program_id")}
    certificates = list(enrolment.state.certificates.values())
    assert {(c.participant_id, c.partner_id, c.role) for c in certificates} == {
        (MENTOR, MENTEE, "mentor"),
        (MENTEE, MENTOR, "mentee"),
    }
    codes = [c.verification_code for c in certificates]
    assert len(set(codes)) == 2 and all(len(code) == 24 for code in codes)


async def test_a_dissolved_or_running_pair_gets_no_certificate(enrolment, program_id, pair):
    enrolment.state.partnerships["pair-2"] = Partnership(
        program_id, "pair-2", MENTOR, STRANGER, FORMED, active=False, completed_on=COMPLETED_ON
    )
    enrolment.state.partnerships["pair-3"] = Partnership(program_id, "pair-3", MENTOR, STRANGER, FORMED)
    assert await certify(enrolment, "pair-2") is None
    assert await certify(enrolment, "pair-3") is None
    assert await certify(enrolment, "pair-unknown") is None
    assert enrolment.state.certificates == {}


def test_skills_are_exchanged_by_direction_from_profiles_and_session_topics():
    def profile(pid: str, offered: list[str], wanted: list[str]) -> ParticipantEnrolled:
        return ParticipantEnrolled.model_validate(
            {
                "program_id": "p",
                "participant_id": pid,
                "role": "mentor",
                "grade": 5,
                "birth_year": 1990,
                "department": "D",
                "time_zone": "UTC",
                "languages": ["en"],
                "skills_offered": offered,
                "skills_wanted": wanted,
            }
        )

    to_mentee, to_mentor = skills_exchanged(
        profile("m", ["TikTok", "SQL"], ["Budgeting"]),
        profile("e", ["budgeting"], ["tiktok"]),
        [("video", "mentor_to_mentee"), ("forecast", "mentee_to_mentor"), ("ai", "both")],
    )
    assert (to_mentee.teacher_id, to_mentee.from_profiles, to_mentee.from_sessions) == (
        "m",
        ("TikTok",),
        ("ai", "video"),
    )
    assert (to_mentor.teacher_id, to_mentor.from_profiles, to_mentor.from_sessions) == (
        "e",
        ("budgeting",),
        ("ai", "forecast"),
    )


# ------------------------------------------------------------------------------------------- certificates, PDF


async def test_my_certificates_and_the_pdf_name_the_people_program_and_skills(client, enrolment, pair):
    await certify(enrolment, pair)
    [mine] = (await client.get("/me/certificates", headers=signed_in("E1"))).json()
    assert (mine["role"], mine["partner_name"], mine["program_title"]) == ("mentor", "Name of E2", "Digital leaders")
    assert mine["completed_on"] == "2026-06-01"

    response = await client.get(f"/certificates/{mine['certificate_id']}.pdf", headers=signed_in("E1"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Certificate of completion" in text
    assert "Name of E1" in text and "Name of E2" in text and "Digital leaders" in text and "2026-06-01" in text
    taught, learned = text.split("What Name of E1 taught Name of E2")[1].split(
        "What Name of E1 learned from Name of E2"
    )
    assert "TikTok" in taught and "short video" in taught and "forecasting" in taught and "Budgeting" not in taught
    assert "Budgeting" in learned and "forecasting" in learned and "short video" not in learned
    assert mine["verification_code"] in text

    [theirs] = (await client.get("/me/certificates", headers=signed_in("E2"))).json()
    assert "What Name of E2 taught Name of E1" in pdf_text(
        (await client.get(f"/certificates/{theirs['certificate_id']}.pdf", headers=ADMIN)).content
    ), "the program's admins may download it too"


async def test_only_the_holder_and_the_programs_admins_download_a_certificate(client, enrolment, pair):
    await certify(enrolment, pair)
    [mine] = (await client.get("/me/certificates", headers=signed_in("E1"))).json()
    url = f"/certificates/{mine['certificate_id']}.pdf"
    for who in (signed_in("E2"), signed_in("E3"), OTHER_ADMIN, AUDITOR):
        assert (await client.get(url, headers=who)).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/certificates/cert-nope.pdf", headers=ADMIN)).status_code == 404


async def test_a_verification_code_resolves_publicly_to_the_completion_record(client, enrolment, program_id, pair):
    await certify(enrolment, pair)
    [mine] = (await client.get("/me/certificates", headers=signed_in("E2"))).json()
    response = await client.get(f"/certificates/verify/{mine['verification_code']}")  # no sign-in
    assert response.status_code == 200
    assert response.json() == {
        "holder_name": "Name of E2",
        "program_title": "Digital leaders",
        "completed_on": "2026-06-01",
        "role": "mentee",
    }
    assert (await client.get(f"/certificates/verify/{'A' * 24}")).status_code == 404
    for malformed in ("short", "A" * 25, "A" * 23 + "!"):
        assert (await client.get(f"/certificates/verify/{malformed}")).status_code == 422

    erased = await client.post(f"/programs/{program_id}/participants/{MENTEE}/erase", headers=signed_in("E2"))
    assert erased.status_code == 200
    assert (await client.get(f"/certificates/verify/{mine['verification_code']}")).status_code == 404


# ------------------------------------------------------------------------------------------------------- kudos


async def test_a_member_thanks_the_partner_and_the_message_stays_in_enrolment(client, enrolment, pair):
    response = await client.post(
        f"/pairs/{pair}/kudos", json={"message": "Thank you for the TikTok tour!"}, headers=signed_in("E2")
    )
    assert response.status_code == 201, response.text
    kudos = response.json()["kudos"]
    assert (kudos["from_participant_id"], kudos["to_participant_id"], kudos["other_name"]) == (
        MENTEE,
        MENTOR,
        "Name of E1",
    )
    [event] = [e for e in enrolment.store.events if e.type.endswith("kudos-given.v1")]
    assert event.data == {
        "program_id": kudos["program_id"],
        "pair_id": pair,
        "kudos_id": kudos["kudos_id"],
        "given_by": MENTEE,
        "given_to": MENTOR,
    }
    assert "TikTok" not in str(event.data)

    received = (await client.get("/me/kudos", headers=signed_in("E1"))).json()
    assert [(k["message"], k["other_name"]) for k in received["received"]] == [
        ("Thank you for the TikTok tour!", "Name of E2")
    ]
    assert received["given"] == []
    assert len((await client.get("/me/kudos", headers=signed_in("E2"))).json()["given"]) == 1


async def test_kudos_rules(client, enrolment, program_id, pair):
    say = {"message": "Thanks"}
    assert (await client.post(f"/pairs/{pair}/kudos", json=say, headers=signed_in("E3"))).status_code == 403
    assert (await client.post(f"/pairs/{pair}/kudos", json=say, headers=ADMIN)).status_code == 403
    assert (await client.post("/pairs/pair-nope/kudos", json=say, headers=signed_in("E1"))).status_code == 404
    too_long = await client.post(f"/pairs/{pair}/kudos", json={"message": "x" * 281}, headers=signed_in("E1"))
    assert too_long.status_code == 422 and "message" in too_long.text
    assert (
        await client.post(f"/pairs/{pair}/kudos", json={"message": "  "}, headers=signed_in("E1"))
    ).status_code == 422
    assert (
        await client.post(f"/pairs/{pair}/kudos", json={"message": "x" * 280}, headers=signed_in("E1"))
    ).status_code == 201

    enrolment.state.partnerships["pair-2"] = Partnership(program_id, "pair-2", MENTOR, STRANGER, FORMED, active=False)
    assert (await client.post("/pairs/pair-2/kudos", json=say, headers=signed_in("E1"))).status_code == 409
    enrolment.state.partnerships["pair-3"] = Partnership(program_id, "pair-3", MENTOR, STRANGER, FORMED)
    assert (await client.post("/pairs/pair-3/kudos", json=say, headers=signed_in("E3"))).status_code == 201, (
        "active pair"
    )
    for _ in range(MAX_KUDOS_PER_MEMBER - 1):
        await client.post("/pairs/pair-3/kudos", json=say, headers=signed_in("E3"))
    assert (await client.post("/pairs/pair-3/kudos", json=say, headers=signed_in("E3"))).status_code == 409


# ------------------------------------------------------------------------------ the recognition list, my record


async def test_admins_and_sponsors_see_names_auditors_pseudonyms_others_nothing(client, enrolment, program_id, pair):
    await certify(enrolment, pair)
    await client.post(f"/pairs/{pair}/kudos", json={"message": "Thanks"}, headers=signed_in("E2"))
    url = f"/programs/{program_id}/recognition"
    for who in (ADMIN, SPONSOR):
        body = (await client.get(url, headers=who)).json()
        assert (body["certificates_issued"], body["kudos_given"]) == (2, 1)
        assert {
            (m["participant_id"], m["display_name"], m["role"], m["kudos_received"], m["kudos_given"])
            for m in body["completed_members"]
        } == {
            (MENTOR, "Name of E1", "mentor", 1, 0),
            (MENTEE, "Name of E2", "mentee", 0, 1),
        }
        assert all(m["certificate_id"] and m["completed_on"] == "2026-06-01" for m in body["completed_members"])
    audited = (await client.get(url, headers=AUDITOR)).json()
    assert {m["participant_id"] for m in audited["completed_members"]} == {MENTOR, MENTEE}
    assert all(m["display_name"] is None for m in audited["completed_members"])
    for who in (OTHER_ADMIN, OTHER_SPONSOR, signed_in("E1")):
        assert (await client.get(url, headers=who)).status_code == 403
    assert (await client.get("/programs/prg-nope/recognition", headers=ADMIN)).status_code == 404


async def test_my_record_lists_programs_completed_certificates_and_kudos(client, enrolment, pair):
    assert (await client.get("/me/recognition", headers=signed_in("E1"))).json() == {
        "programs_completed": [],
        "certificates": [],
        "kudos_received": 0,
        "kudos_given": 0,
    }
    await certify(enrolment, pair)
    await client.post(f"/pairs/{pair}/kudos", json={"message": "Thanks"}, headers=signed_in("E2"))
    record = (await client.get("/me/recognition", headers=signed_in("E1"))).json()
    [completed] = record["programs_completed"]
    assert (completed["program_title"], completed["role"], completed["completed_on"]) == (
        "Digital leaders",
        "mentor",
        "2026-06-01",
    )
    assert [c["certificate_id"] for c in record["certificates"]] == [completed["certificate_id"]]
    assert (record["kudos_received"], record["kudos_given"]) == (1, 0)


async def test_erasure_forgets_the_words_of_the_persons_kudos(client, enrolment, program_id, pair):
    await client.post(f"/pairs/{pair}/kudos", json={"message": "Thanks, E1"}, headers=signed_in("E2"))
    erased = await client.post(f"/programs/{program_id}/participants/{MENTOR}/erase", headers=signed_in("E1"))
    assert erased.status_code == 200
    [given] = (await client.get("/me/kudos", headers=signed_in("E2"))).json()["given"]
    assert (given["message"], given["other_name"]) == ("", None)
