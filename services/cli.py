"""The `tandem` command: the platform's commands over every declared service."""

from services.registry import SERVICES
from shared.cli import build_cli

app = build_cli(SERVICES)

if __name__ == "__main__":
    app()
