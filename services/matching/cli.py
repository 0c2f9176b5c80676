"""`python -m services.matching.cli`: run a matching round from a JSON pool file, or print the file's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from services.matching.domain.engine import DEFAULT_PER_MENTEE, match
from services.matching.pool_file import PoolFile, result_json

app = typer.Typer(help="Tandem's matching engine, offline.", no_args_is_help=True)


@app.command()
def solve(
    pool: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Pool file (see `schema`).")],
    out: Annotated[Path | None, typer.Option(help="Also write the result to this file.")] = None,
    per_mentee: Annotated[int, typer.Option(min=1, help="Shortlist length per mentee (speed only).")] = (
        DEFAULT_PER_MENTEE
    ),
) -> None:
    """Match the pool optimally and print the result (pairs, reasons, certificate) as JSON."""
    round_input = PoolFile.model_validate_json(pool.read_text()).round_input()
    text = json.dumps(result_json(match(**round_input, per_mentee=per_mentee)), indent=2)
    if out is not None:
        out.write_text(text + "\n")
    typer.echo(text)


@app.command()
def schema() -> None:
    """Print the JSON Schema of pool files."""
    typer.echo(schema_text(), nl=False)


def schema_text() -> str:
    return json.dumps(PoolFile.model_json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    app()
