"""The digest's renderer (insights' static/digest.js, issue #16) run by node: it names exactly the members of the
stories it is given, never anyone else whose name it is handed, suppresses what leaders changed under five, shows
withheld by-role cells as "withheld", and escapes people's words so they add no markup to either format."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

DIGEST = Path(__file__).parents[2] / "services" / "insights" / "entrypoints" / "web" / "static" / "digest.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

REPORT = {
    "title": "Reverse <b>mentoring</b>",
    "as_of": "2026-06-01T09:00:00Z",
    "participants": {"enrolled": 12},
    "pairs": {"formed": 6},
    "sessions": {"total": 40},
    "ratings": {"overall": {"average": 4.25}},
    "partnerships": {"completed": 5, "would_recommend_rate": 0.8},
    "targets": [{"name": "pairs_completed", "target": 10, "actual": 5, "progress": 0.5}],
    "learning_ledger": {"mentor_to_mentee": {"short video": 4}, "mentee_to_mentor": {"budgeting": 2}},
    "recognition": {
        "trained_by_role": {"mentor": 6, "mentee": None, "both": 0},
        "certificates_issued": 10,
        "kudos_given": 3,
        "stories_shared": 1,
    },
}
STORY = {
    "pair_id": "pair-1",
    "mentor": {"participant_id": "p-1", "side": "mentor", "learned": "how boards decide", "changed": "I speak up"},
    "mentee": {
        "participant_id": "p-2",
        "side": "mentee",
        "learned": "<script>alert(1)</script> and *bold* [link](http://x)",
        "changed": "I listen\n# not a heading",
    },
}
NAMES = {"p-1": "Sami <i>Haddad</i>", "p-2": "Femi Ito", "p-3": "Nobody Shared"}


def render(data: dict) -> dict[str, str]:
    script = (
        f"import {{ renderDigest }} from {json.dumps(DIGEST.as_uri())};"
        "let input = ''; process.stdin.on('data', (d) => (input += d));"
        "process.stdin.on('end', () => process.stdout.write(JSON.stringify(renderDigest(JSON.parse(input)))));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], input=json.dumps(data), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_names_only_the_members_of_told_stories_escaped():
    digest = render({"report": REPORT, "stories": [STORY], "leadersChanged": None, "names": NAMES})
    html, markdown = digest["html"], digest["markdown"]
    assert "Sami &lt;i&gt;Haddad&lt;/i&gt;" in html and "Femi Ito" in html
    assert "Sami \\<i\\>Haddad\\</i\\>" in markdown and "Femi Ito" in markdown
    for text in (html, markdown):
        assert "Nobody Shared" not in text, "a name enrolment gave is not used unless its person is in a story"
        assert "p-1" not in text and "p-2" not in text and "pair-1" not in text, "no ids"
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in html and "Reverse &lt;b&gt;mentoring&lt;/b&gt;" in html
    assert "\\*bold\\*" in markdown and "\\[link\\]\\(http://x\\)" in markdown and "<script>" not in markdown
    assert "\n# not a heading" not in markdown and "I listen \\# not a heading" in markdown


def test_figures_suppression_and_no_stories():
    digest = render({"report": REPORT, "stories": [], "leadersChanged": {"suppressed": True, "changed": []}})
    for text in (digest["html"], digest["markdown"]):
        assert "| Mentees | withheld |" in text or "<td>withheld</td>" in text, "the mentees' cell of 1 to 4"
        assert "Fewer than 5 leaders shared what they changed: not shown." in text
        assert "No pair has shared its story yet." in text
        assert "short video" in text and "budgeting" in text
        assert "80%" in text and "4.25" in text and "50%" in text
    assert "| Certificates issued | 10 |" in digest["markdown"]


def test_what_leaders_changed_when_five_said_it():
    said = [f"change {n}" for n in range(5)]
    digest = render({"report": REPORT, "leadersChanged": {"suppressed": False, "changed": said}})
    assert all(f"<li>change {n}</li>" in digest["html"] for n in range(5))
    assert all(f"- change {n}" in digest["markdown"] for n in range(5))


def test_a_member_enrolment_did_not_name_is_told_by_side_only():
    digest = render({"report": REPORT, "stories": [STORY], "names": {"p-2": "Femi Ito"}})
    assert "A mentor and Femi Ito" in digest["html"]
