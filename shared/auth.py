"""Bearer JWT authentication and roles, the same in every service.

Roles: `program_admin` (runs programs), `participant` (acts only for itself; `sub` is its pseudonymous
participant id), `auditor` (reads everything, changes nothing). Tokens are verified with a shared HS256 key
(`TANDEM_JWT_SECRET`; a development default works locally) or, in production, the identity provider's
keys from `TANDEM_JWKS_URL`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal, get_args

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# What a caller may do (not a participant's part in mentoring: that is `shared.events.MentoringRole`).
AccessRole = Literal["program_admin", "participant", "auditor"]
ROLES: tuple[AccessRole, ...] = get_args(AccessRole)
DEV_SECRET = "tandem-local-development-key-do-not-use-in-production"


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    jwt_secret: str = Field(DEV_SECRET, description="HS256 signing key; ignored when jwks_url is set.")
    jwks_url: str | None = Field(None, description="The identity provider's JWKS endpoint (RS256/ES256).")
    jwt_issuer: str = "tandem"
    jwt_audience: str = "tandem"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    # The one rule for writes: each right comes from the role that grants it, so a second role never widens
    # another. `program_admin` acts for anyone; `participant` acts for itself and its own pairs only, whatever
    # else the token holds; `auditor` reads everything and writes nothing.

    @property
    def acts_as_admin(self) -> bool:
        """May write for anyone: only `program_admin` grants it."""
        return "program_admin" in self.roles

    @property
    def reads_everything(self) -> bool:
        """May read any participant's or pair's data: `program_admin` or `auditor`."""
        return self.has("program_admin", "auditor")

    def may_act_for(self, *participant_ids: str) -> bool:
        """May write on behalf of one of `participant_ids` (a participant, or a pair's members)."""
        return self.acts_as_admin or ("participant" in self.roles and self.subject in participant_ids)

    def may_read(self, *participant_ids: str) -> bool:
        """May read what belongs to one of `participant_ids`."""
        return self.reads_everything or ("participant" in self.roles and self.subject in participant_ids)


def issue_token(subject: str, roles: list[str], ttl_s: int = 3600, settings: AuthSettings | None = None) -> str:
    """A token signed with the shared key: for local development, tests and `make token`."""
    settings = settings or AuthSettings()
    now = int(time.time())
    claims = {
        "sub": subject,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


@lru_cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True)


def verify(token: str, settings: AuthSettings) -> Principal:
    if settings.jwks_url:
        key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
        algorithms = ["RS256", "ES256"]
    else:
        key, algorithms = settings.jwt_secret, ["HS256"]
    claims = jwt.decode(
        token,
        key,
        algorithms=algorithms,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": ["sub", "exp"]},
    )
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        raise jwt.InvalidTokenError("roles must be a list")
    return Principal(subject=str(claims["sub"]), roles=frozenset(r for r in roles if r in ROLES))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


# Declares the scheme in OpenAPI (`components.securitySchemes`, and a security requirement on every endpoint that
# depends on it); auto_error=False so a missing token still gets our 401 with `WWW-Authenticate: Bearer`.
bearer_token = HTTPBearer(
    scheme_name="bearer", bearerFormat="JWT", description="A JWT from the identity provider.", auto_error=False
)


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)]
) -> Principal:
    if credentials is None:
        raise _unauthorized("a bearer token is required")
    settings: AuthSettings = getattr(request.app.state, "auth", None) or AuthSettings()
    try:
        return verify(credentials.credentials, settings)
    except jwt.PyJWTError as error:
        raise _unauthorized(f"invalid token: {error}") from None


def require(*roles: AccessRole):
    """Dependency: the caller must hold one of `roles`, else 403."""

    async def check(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not principal.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs one of the roles: {', '.join(roles)}")
        return principal

    return check


# The role rules the services' endpoints use.
Reader = Annotated[Principal, Depends(require("program_admin", "auditor", "participant"))]
Admin = Annotated[Principal, Depends(require("program_admin"))]
AdminOrAuditor = Annotated[Principal, Depends(require("program_admin", "auditor"))]
AdminOrParticipant = Annotated[Principal, Depends(require("program_admin", "participant"))]
Participant = Annotated[Principal, Depends(require("participant"))]
