"""The `tandem` command is made from the declared services: no service is found by name at run time."""

from typer.testing import CliRunner

from services.cli import app
from services.registry import SERVICES

runner = CliRunner()


def test_it_lists_every_declared_service_with_its_default_port():
    result = runner.invoke(app, ["services"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"{s.name} {s.settings().http_port}" for s in SERVICES]


def test_a_services_own_commands_are_top_level_commands():
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0 and "--as-of" in result.stdout


def test_an_unknown_service_is_refused_by_name():
    result = runner.invoke(app, ["asyncapi", "--service", "billing"])
    assert result.exit_code != 0 and "unknown service 'billing'" in result.output


def test_no_module_is_found_by_name_at_run_time():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [p for folder in ("shared", "services") for p in (root / folder).rglob("*.py")]
    offenders = [p.name for p in sources if "import_module" in p.read_text() or "__import__(" in p.read_text()]
    assert offenders == []
    assert [p.name for p in (root / "shared").rglob("*.py") if "from services" in p.read_text()] == []
