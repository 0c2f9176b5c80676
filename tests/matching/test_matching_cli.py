"""The offline CLI: a pool file in, the round's result out, and the file's published schema."""

import json
from pathlib import Path

from typer.testing import CliRunner

from services.matching.cli import app, schema_text

POOL = {
    "program": {"optimize_for": "participation", "focus_areas": ["diversity"]},
    "candidates": [
        {
            "participant_id": "m1",
            "role": "mentor",
            "grade": 1,
            "birth_year": 2000,
            "department": "it",
            "utc_offset_hours": 0,
            "languages": ["en"],
            "skills_offered": ["tiktok"],
            "focus_areas": ["diversity"],
        },
        {
            "participant_id": "e1",
            "role": "mentee",
            "grade": 9,
            "birth_year": 1965,
            "department": "hr",
            "utc_offset_hours": 1,
            "languages": ["en"],
            "skills_wanted": ["tiktok"],
            "focus_areas": ["diversity"],
        },
        {
            "participant_id": "e2",
            "role": "mentee",
            "grade": 9,
            "birth_year": 1970,
            "department": "hr",
            "utc_offset_hours": 1,
            "languages": ["de"],
        },
    ],
    "withdrawn": [],
}


def test_solve_reads_a_pool_file_and_writes_the_result(tmp_path: Path):
    pool, out = tmp_path / "pool.json", tmp_path / "result.json"
    pool.write_text(json.dumps(POOL))
    printed = CliRunner().invoke(app, ["solve", str(pool), "--out", str(out)])
    result = json.loads(out.read_text())
    assert printed.exit_code == 0 and json.loads(printed.stdout) == result
    assert [(p["mentor_id"], p["mentee_id"]) for p in result["pairs"]] == [("m1", "e1")]
    assert [(u["participant_id"], u["reason"]) for u in result["unmatched"]] == [("e2", "no_eligible_partner")]


def test_the_committed_schema_is_the_one_the_cli_prints():
    committed = Path(__file__).parents[2] / "services/matching/schemas/pool-input.schema.json"
    assert CliRunner().invoke(app, ["schema"]).stdout == committed.read_text() == schema_text()
