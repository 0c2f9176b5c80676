"""Insights' web pages under /insights/v1: the program dashboard and the participant page.

The pages are static files; every figure comes from the JSON APIs, called by the browser with the bearer token
of its signed-in user: the pages sign people in at the OpenID provider `web_oidc_issuer` names (authorization code
flow with PKCE, in the browser: static/common.js), or, with no provider configured, take a pasted token
(development only). The pages also call enrolment, matching, sessions and notifications, at the URLs of
`web_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from services.insights.config import InsightsSettings
from shared.http import provided

WEB = Path(__file__).parent / "web"
STATIC = WEB / "static"
router = APIRouter(include_in_schema=False)


async def settings(request: Request) -> InsightsSettings:
    return provided(request, settings)


Settings = Annotated[InsightsSettings, Depends(settings)]


def web_config(settings: InsightsSettings) -> dict[str, object]:
    return {
        "matching_url": settings.web_matching_url.rstrip("/"),
        "sessions_url": settings.web_sessions_url.rstrip("/"),
        "enrolment_url": settings.web_enrolment_url.rstrip("/"),
        "notifications_url": settings.web_notifications_url.rstrip("/"),
        "poll_seconds": settings.web_poll_seconds,
        "oidc": _oidc(settings),
    }


def _oidc(settings: InsightsSettings) -> dict[str, str] | None:
    if not settings.web_oidc_issuer:
        return None
    return {
        "issuer": settings.web_oidc_issuer.rstrip("/"),
        "client_id": settings.web_oidc_client_id,
        "scope": settings.web_oidc_scope,
    }


def content_security_policy(settings: InsightsSettings) -> str:
    """Scripts, styles and data only from this service, plus calls to the APIs the pages use and to the OpenID
    provider (its discovery document and token endpoint; the sign-in itself is a top-level navigation)."""
    apis = (
        settings.web_matching_url,
        settings.web_sessions_url,
        settings.web_enrolment_url,
        settings.web_notifications_url,
        settings.web_oidc_issuer,
    )
    others = {_origin(url) for url in apis} - {""}
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
