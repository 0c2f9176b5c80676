"""The README's five-minute tour, run as written against the running platform (docs that cannot lie)."""

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_script(platform) -> str:
    section = README.read_text().split("## A five-minute tour", 1)[1]
    script = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    for name, port in (("enrolment", 8001), ("matching", 8002), ("sessions", 8003), ("insights", 8004)):
        script = script.replace(f"127.0.0.1:{port}", f"127.0.0.1:{platform[name].port}")
    return "set -euo pipefail\n" + script


def test_the_readme_tour_runs_as_written(platform):
    result = subprocess.run(
        ["bash", "-c", tour_script(platform)], capture_output=True, text=True, timeout=300, cwd=README.parent
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    csv = result.stdout.strip().splitlines()
    assert csv[-2].startswith("pair_id,") and ",active," in csv[-1]
