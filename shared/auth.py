"""Bearer JWT authentication and roles, the same in every service.

Roles: `program_admin` (runs programs), `participant` (acts only for itself), `auditor` (reads everything, changes
nothing, sees pseudonyms), `executive_sponsor` (reads the dashboard of the programs it sponsors).

Who a caller is: a provider's token carries the person's employee id in a claim (`TANDEM_EMPLOYEE_ID_CLAIM`,
default `employee_id`); the services turn it into the person's participant ids with the shared pseudonym key
(shared/pseudonyms.py), so nobody needs to know their pseudonym. A person has one id per program (programs launched
before issue #19 share one legacy id), so a service asks `Principal.ids_in(program_id)` for the program of the
resource at hand and never needs to know the program's scheme. A token without that claim (a script's, or one from
`make token`) names the participant id in `sub` itself, the same in every program. Roles come from
`TANDEM_ROLES_CLAIM` (default `roles`) and the caller's groups from `TANDEM_GROUPS_CLAIM` (default `groups`): a
program names the groups that administer and sponsor it. Tokens are verified with a shared HS256 key
(`TANDEM_JWT_SECRET`) or, in production, the identity provider's keys from `TANDEM_JWKS_URL`. A token lives at
most `TANDEM_JWT_MAX_LIFETIME_S` (its `exp - iat`; a token without `iat` is refused).

The development keys are public (they are in this repository): a service refuses to start with one of them
unless `TANDEM_DEVELOPMENT=true` (`make run`, the tests, the demo and compose set it; the Helm chart never does),
and refuses any key shorter than 32 bytes (`refuse_unsafe_secrets`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Literal, get_args

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.pseudonyms import DEV_PSEUDONYM_KEY, ids_in, legacy_pseudonym, pseudonym

# What a caller may do (not a participant's part in mentoring: that is `shared.events.MentoringRole`).
AccessRole = Literal["program_admin", "participant", "auditor", "executive_sponsor"]
ROLES: tuple[AccessRole, ...] = get_args(AccessRole)
# Not an access role of its own: held beside `auditor`, it lets an auditor read words only a pair's members read
# otherwise, one request at a time, each naming its ticket and logged as an event (shared/break_glass.py).
BREAK_GLASS_ROLE = "break_glass"
DEV_SECRET = "tandem-local-development-key-do-not-use-in-production"
MIN_KEY_BYTES = 32


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    jwt_secret: str = Field(DEV_SECRET, description="HS256 signing key; ignored when jwks_url is set.")
    jwks_url: str | None = Field(None, description="The identity provider's JWKS endpoint (RS256/ES256).")
    jwt_issuer: str = "tandem"
    jwt_audience: str = "tandem"
    jwt_max_lifetime_s: int = Field(
        12 * 3600, ge=1, description="Longest accepted token lifetime (exp - iat), in seconds; default 12 h."
    )
    pseudonym_key: str = Field(
        DEV_PSEUDONYM_KEY, description="HMAC key turning employee ids into participant ids; keep it secret."
    )
    employee_id_claim: str = Field("employee_id", description="The token claim holding the person's employee id.")
    roles_claim: str = Field("roles", description="The token claim listing the caller's Tandem roles.")
    groups_claim: str = Field("groups", description="The token claim listing the caller's groups.")
    development: bool = Field(
        False,
        validation_alias=AliasChoices("TANDEM_DEVELOPMENT"),
        description="Allows the public development keys; never set it in production.",
    )


class UnsafeSecret(RuntimeError):
    """A key a service must not start with; the message names the setting, never its value."""


def refuse_unsafe_secrets(development: bool, keys: dict[str, tuple[str, str]]) -> None:
    """Raise UnsafeSecret for the first key (setting name -> (value, its public development value)) that is
    shorter than MIN_KEY_BYTES, or is the development value while `development` is off."""
    for setting, (value, development_value) in keys.items():
        if len(value.encode()) < MIN_KEY_BYTES:
            raise UnsafeSecret(f"{setting} is shorter than {MIN_KEY_BYTES} bytes; set a longer random key")
        if value == development_value and not development:
            raise UnsafeSecret(
                f"{setting} is the public development key; set a secret one "
                "(or TANDEM_DEVELOPMENT=true on a developer's machine)"
            )


def auth_keys(settings: AuthSettings) -> dict[str, tuple[str, str]]:
    """The keys to check at start-up: the pseudonym key, and the signing key unless the provider's JWKS verifies
    tokens."""
    keys = {"TANDEM_PSEUDONYM_KEY": (settings.pseudonym_key, DEV_PSEUDONYM_KEY)}
    return keys if settings.jwks_url else {**keys, "TANDEM_JWT_SECRET": (settings.jwt_secret, DEV_SECRET)}


@dataclass(frozen=True)
class ProgramStaff:
    """Who runs and who sponsors one program: the identity-provider groups it names (ProgramLaunched's
    `admin_groups` and `sponsor_groups`). A program naming no admin group is run by every program admin."""

    admin_groups: frozenset[str] = frozenset()
    sponsor_groups: frozenset[str] = frozenset()

    @classmethod
    def of(cls, admin_groups: Iterable[str] = (), sponsor_groups: Iterable[str] = ()) -> ProgramStaff:
        return cls(frozenset(admin_groups), frozenset(sponsor_groups))


@dataclass(frozen=True)
class Principal:
    """Who calls. `subject` is the caller's id when no program is at hand: the legacy (`global`) pseudonym of its
    employee-id claim, else `sub`; `employee_id` is the claim itself, None for tokens without it; `groups` are the
    caller's groups. A participant's id in a program comes from `ids_in`, never from `subject` alone."""

    subject: str
    roles: frozenset[str]
    employee_id: str | None = None
    groups: frozenset[str] = frozenset()
    break_glass: bool = False  # the token holds BREAK_GLASS_ROLE
    # The key that derived `subject`, to derive the caller's per-program ids; never printed nor compared.
    pseudonym_key: str = field(default="", repr=False, compare=False)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def ids_in(self, *program_ids: str) -> frozenset[str]:
        """Every participant id the caller may have in these programs: its legacy id and its per-program id in
        each (the one the program does not use matches nobody else's, so accepting it is harmless). A token
        without an employee id has `subject` only."""
        if self.employee_id is None or not self.pseudonym_key:
            return frozenset({self.subject})
        return frozenset().union(*(ids_in(self.pseudonym_key, p, self.employee_id) for p in program_ids)) | {
            self.subject
        }

    def per_program_id(self, program_id: str) -> str:
        """The caller's id under the per-program scheme in `program_id` (`subject` without an employee id): for a
        service that must pick one id and checks it against what it holds (notifications' preferences)."""
        if self.employee_id is None or not self.pseudonym_key:
            return self.subject
        return pseudonym(self.pseudonym_key, program_id, self.employee_id)

    def id_among(self, program_id: str, *participant_ids: str) -> str | None:
        """Which of `participant_ids` (say a pair's members, in `program_id`) is the caller; None when none is."""
        mine = self.ids_in(program_id)
        return next((p for p in participant_ids if p in mine), None)

    def is_participant(self, program_id: str, *participant_ids: str) -> bool:
        """The caller, as a participant, is one of `participant_ids` of `program_id`."""
        return "participant" in self.roles and self.id_among(program_id, *participant_ids) is not None

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

    def may_act_for(self, program_id: str, *participant_ids: str) -> bool:
        """May write on behalf of one of `participant_ids` of `program_id` (a participant, or a pair's members)."""
        return self.acts_as_admin or self.is_participant(program_id, *participant_ids)

    def may_read(self, program_id: str, *participant_ids: str) -> bool:
        """May read what belongs to one of `participant_ids` of `program_id`."""
        return self.reads_everything or self.is_participant(program_id, *participant_ids)

    # Per program (issue #14): a program admin runs only the programs whose admin groups it belongs to (or those
    # naming none); an executive sponsor reads the dashboard of the programs whose sponsor groups it belongs to;
    # an auditor reads every program.

    def administers(self, staff: ProgramStaff) -> bool:
        return self.acts_as_admin and (not staff.admin_groups or bool(self.groups & staff.admin_groups))

    def sponsors(self, staff: ProgramStaff) -> bool:
        return "executive_sponsor" in self.roles and bool(self.groups & staff.sponsor_groups)

    def oversees(self, staff: ProgramStaff) -> bool:
        """May read the program's figures and pair lists: its admins, its sponsors, auditors."""
        return self.administers(staff) or self.sponsors(staff) or "auditor" in self.roles


def issue_token(
    subject: str,
    roles: list[str],
    ttl_s: int = 3600,
    settings: AuthSettings | None = None,
    *,
    employee_id: str | None = None,
    groups: list[str] | None = None,
) -> str:
    """A token signed with the shared key: for local development, tests and `make token`. With `employee_id`, the
    token names the person as a provider's token does (the services derive the participant id from it)."""
    settings = settings or AuthSettings()
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        settings.roles_claim: roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    if employee_id is not None:
        claims[settings.employee_id_claim] = employee_id
    if groups is not None:
        claims[settings.groups_claim] = groups
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
        options={"require": ["sub", "exp", "iat"]},
    )
    if not isinstance(claims["iat"], int | float) or claims["exp"] - claims["iat"] > settings.jwt_max_lifetime_s:
        raise jwt.InvalidTokenError(f"a token may live at most {settings.jwt_max_lifetime_s} s (exp - iat)")
    roles = _strings(claims, settings.roles_claim)
    groups = _strings(claims, settings.groups_claim)
    employee_id = claims.get(settings.employee_id_claim)
    if employee_id is not None and (not isinstance(employee_id, str) or not employee_id.strip()):
        raise jwt.InvalidTokenError(f"{settings.employee_id_claim} must be a non-empty string")
    subject = legacy_pseudonym(settings.pseudonym_key, employee_id) if employee_id else str(claims["sub"])
    return Principal(
        subject=subject,
        roles=frozenset(r for r in roles if r in ROLES),
        employee_id=employee_id,
        groups=frozenset(groups),
        break_glass=BREAK_GLASS_ROLE in roles,
        pseudonym_key=settings.pseudonym_key,
    )


def _strings(claims: dict, name: str) -> list[str]:
    value = claims.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise jwt.InvalidTokenError(f"{name} must be a list of strings")
    return value


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
