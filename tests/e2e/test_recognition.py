"""Issue #16's recognition against the real services: matching pairs two colleagues, they log sessions in each
direction, the program's admin completes the pair in sessions, and enrolment issues each member a certificate whose
PDF, read back, names the right people, program and skills, and whose verification code resolves publicly; kudos
between the two are kept with their words in enrolment."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pypdf

from tests.support.bodies import person
from tests.support.services import eventually, signed_in, token

ADMIN = token("program_admin")
MENTOR, MENTEE = "RC-M1", "RC-S1"  # employee ids of this test's own


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_a_completed_pair_yields_two_certificates_that_name_people_and_skills_and_verify(platform):
    enrolment, matching, sessions = (platform[s].url for s in ("enrolment", "matching", "sessions"))
    with httpx.Client(timeout=60) as http:
        program_id = ok(http.post(f"{enrolment}/programs", json={"title": "Recognised leaders"}, headers=ADMIN), 201)[
            "program"
        ]["program_id"]
        ids = {}
        for employee_id, role, grade, offered, wanted in (
            (MENTOR, "mentor", 2, ["TikTok", "Figma"], ["Budgeting"]),
            (MENTEE, "mentee", 9, ["Budgeting"], ["TikTok"]),
        ):
            body = person(
                employee_id,
                role=role,
                grade=grade,
                department="IT" if role == "mentor" else "Finance",
                skills_offered=offered,
                skills_wanted=wanted,
            )
            enrolled = ok(
                http.post(f"{enrolment}/programs/{program_id}/participants", json=body, headers=signed_in(employee_id)),
                201,
            )
            ids[employee_id] = enrolled["participant"]["participant_id"]
        pool = f"{matching}/programs/{program_id}/pool"
        eventually(lambda: (http.get(pool, headers=ADMIN).json() or {}).get("active") == 2, 60, "matching's pool")
        pair = ok(
            http.post(
                f"{matching}/programs/{program_id}/pairs",
                json={"mentor_id": ids[MENTOR], "mentee_id": ids[MENTEE]},
                headers=ADMIN,
            ),
            201,
        )
        pair_id = pair["pair_id"]

        logged = f"{sessions}/pairs/{pair_id}/sessions"
        mentor = token("participant", ids[MENTOR])
        eventually(lambda: http.get(f"{sessions}/pairs/{pair_id}", headers=mentor).status_code == 200, 60, "the pair")
        today = str(date.today())
        for topics, direction in ((["short video"], "mentor_to_mentee"), (["budget planning"], "mentee_to_mentor")):
            body = {"held_on": today, "minutes": 45, "topics": topics, "learning_direction": direction}
            ok(http.post(logged, json=body, headers=mentor), 201)
        ok(http.post(f"{sessions}/pairs/{pair_id}/completion", headers=ADMIN))

        def certificates(employee_id: str) -> list[dict]:
            return ok(http.get(f"{enrolment}/me/certificates", headers=signed_in(employee_id)))

        eventually(lambda: certificates(MENTOR) and certificates(MENTEE), 60, "enrolment to issue both certificates")
        [theirs] = certificates(MENTEE)
        [mine] = certificates(MENTOR)
        assert (mine["role"], mine["partner_name"], mine["pair_id"]) == ("mentor", f"Person {MENTEE}", pair_id)

        texts = {}
        for employee_id, certificate in ((MENTOR, mine), (MENTEE, theirs)):
            response = http.get(
                f"{enrolment}/certificates/{certificate['certificate_id']}.pdf", headers=signed_in(employee_id)
            )
            assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
            texts[employee_id] = pdf_text(response.content)

        # Session topics reach enrolment with the completion's events; wait for them on the certificate if need be.
        def taught_by_mentor() -> str:
            response = http.get(f"{enrolment}/certificates/{mine['certificate_id']}.pdf", headers=signed_in(MENTOR))
            texts[MENTOR] = pdf_text(response.content)
            return "short video" in texts[MENTOR] and "budget planning" in texts[MENTOR]

        eventually(taught_by_mentor, 30, "the sessions' topics on the certificate")
        taught, learned = (
            texts[MENTOR]
            .split(f"What Person {MENTOR} taught Person {MENTEE}")[1]
            .split(f"What Person {MENTOR} learned from Person {MENTEE}")
        )
        assert "TikTok" in taught and "short video" in taught and "Figma" not in taught and "Budgeting" not in taught
        assert "Budgeting" in learned and "budget planning" in learned
        assert "Recognised leaders" in texts[MENTOR] and mine["verification_code"] in texts[MENTOR]
        assert f"Person {MENTEE}" in texts[MENTEE].split("completed the reverse-mentoring")[0]
        assert theirs["verification_code"] in texts[MENTEE]

        for employee_id, certificate, role in ((MENTOR, mine, "mentor"), (MENTEE, theirs, "mentee")):
            verified = ok(http.get(f"{enrolment}/certificates/verify/{certificate['verification_code']}"))
            assert verified == {
                "holder_name": f"Person {employee_id}",
                "program_title": "Recognised leaders",
                "completed_on": certificate["completed_on"],
                "role": role,
            }
        assert http.get(f"{enrolment}/certificates/verify/{'Z' * 24}").status_code == 404

        sent = ok(
            http.post(f"{enrolment}/pairs/{pair_id}/kudos", json={"message": "Thank you!"}, headers=signed_in(MENTEE)),
            201,
        )
        assert sent["kudos"]["other_name"] == f"Person {MENTOR}"
        received = ok(http.get(f"{enrolment}/me/kudos", headers=signed_in(MENTOR)))["received"]
        assert [k["message"] for k in received] == ["Thank you!"]
        listed = ok(http.get(f"{enrolment}/programs/{program_id}/recognition", headers=ADMIN))
        assert (listed["certificates_issued"], listed["kudos_given"]) == (2, 1)

        # Insights follows (counts only): the two certificates and the kudos, from the events alone.
        insights = platform["insights"].url

        def recognised() -> dict | None:
            report = http.get(f"{insights}/programs/{program_id}/report", headers=ADMIN)
            figures = report.json()["recognition"] if report.status_code == 200 else {}
            return figures if (figures.get("certificates_issued"), figures.get("kudos_given")) == (2, 1) else None

        figures = eventually(recognised, 60, "insights to count the certificates and the kudos")
        assert figures["stories_shared"] == 0
