"""Insights' web pages under /insights/v1: the program dashboard and the participant page.

The pages are static files; every figure comes from the JSON APIs, called by the browser with the bearer token
its user pasted. The participant page also calls matching and sessions, at the URLs of `web_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from services.insights.config import InsightsSettings

WEB = Path(__file__).parent / "web"
STATIC = WEB / "static"
router = APIRouter(include_in_schema=False)


def settings() -> InsightsSettings:
    raise NotImplementedError("bound by the composition root (bootstrap.py)")


Settings = Annotated[InsightsSettings, Depends(settings)]


def web_config(settings: InsightsSettings) -> dict[str, object]:
    return {
        "matching_url": settings.web_matching_url.rstrip("/"),
        "sessions_url": settings.web_sessions_url.rstrip("/"),
        "poll_seconds": settings.web_poll_seconds,
    }


def content_security_policy(settings: InsightsSettings) -> str:
    """Scripts, styles and data only from this service, plus calls to the two APIs the participant page uses."""
    others = {_origin(url) for url in (settings.web_matching_url, settings.web_sessions_url)} - {""}
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["connect-src 'self'", *sorted(others)]),
            "img-src 'self' data: blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _page(settings: InsightsSettings, name: str) -> FileResponse:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return FileResponse(WEB / name, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/dashboard")
async def dashboard(settings: Settings) -> FileResponse:
    return _page(settings, "dashboard.html")


@router.get("/participant")
async def participant(settings: Settings) -> FileResponse:
    return _page(settings, "participant.html")


@router.get("/web/config.json")
async def config(settings: Settings) -> dict[str, object]:
    return web_config(settings)
