"""SCIM 2.0 `/scim/v2/Users` (RFC 7643/7644) under /enrolment/v1, so an identity provider keeps the roster current.

Resources, PatchOp, ListResponse and Error are scim2-models' pydantic models; this module maps them onto roster
entries. The mapping (what an identity provider must send):
- the employee id is the enterprise extension's `employeeNumber`, or `userName` without one; it never changes
  (a PUT or PATCH naming another is a 400 `mutability`). `userName` is echoed as sent, `externalId` is the
  employee id. `id` is the person's legacy (`global`) pseudonym: no personal data in URLs and access logs. It is
  their participant id only in programs launched before per-program pseudonyms (docs/adr/0011), and it stays the
  same so the provider's links hold; it never appears in an event.
- `displayName` (else `name.formatted`, else given and family name), the primary (else first) of `emails`,
  `timezone` (IANA), `preferredLanguage` (its language subtag becomes the roster's one language).
- enterprise extension (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`): `department`, and
  `manager.value`, the manager's SCIM `id` (an employee id is accepted too); reporting chains are derived from it.
- the grade (0-100, higher is more senior) in Tandem's extension `urn:tandem:params:scim:schemas:extension:tandem:
  2.0:User` as `grade`: the enterprise extension has no numeric grade, and a free-text `organization` would have
  to be parsed.
- `active: false` (PUT or PATCH) or DELETE withdraws the person from every program ("deactivated by the identity
  provider"); DELETE also removes the entry.
Errors are SCIM Error messages (RFC 7644 §3.12), never naming a value. Auth: a program_admin bearer token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    Error,
    Extension,
    ListResponse,
    Manager,
    Meta,
    PatchOp,
    SCIMException,
    User,
)
from scim2_models.resources.user import Email, Name
from scim2_models.urn import URN
from starlette.responses import JSONResponse

from services.enrolment.domain.roster import RosterEntry, RosterRow
from services.enrolment.entrypoints.http import PseudonymKey, Uow
from services.enrolment.service_layer import roster
from shared.auth import Admin
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.pseudonyms import legacy_pseudonym as scim_id

SCIM_JSON = "application/scim+json"
USERS = "/scim/v2/Users"


class TandemUser(Extension):
    """Tandem's extension of the User resource: the job grade matching's rules read."""

    __schema__ = URN("urn:tandem:params:scim:schemas:extension:tandem:2.0:User")

    grade: int | None = None


ScimUser = User[EnterpriseUser | TandemUser]
# The roster's fields as SCIM names them, for error details.
ATTRIBUTES = {
    "employee_id": "employeeNumber",
    "display_name": "displayName",
    "email": "emails",
    "department": f"{EnterpriseUser.__schema__}:department",
    "grade": f"{TandemUser.__schema__}:grade",
    "manager_id": f"{EnterpriseUser.__schema__}:manager",
    "languages": "preferredLanguage",
    "time_zone": "timezone",
}


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def _error(status: int, detail: str, scim_type: str | None = None) -> JSONResponse:
    body = Error(status=status, detail=detail, scim_type=scim_type).model_dump()
    return JSONResponse(body, status_code=status, media_type=SCIM_JSON)


class ScimRoute(APIRoute):
    """Every failure of these routes, the auth dependency's included, as a SCIM Error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except ScimError as error:
                return _error(error.status, error.detail, error.scim_type)
            except SCIMException as error:
                scim_error = error.to_error()
                return _error(int(scim_error.status or 400), scim_error.detail or "invalid", scim_error.scim_type)
            except HTTPException as error:
                return _error(error.status_code, str(error.detail))
            except (RequestValidationError, ValidationError):
                return _error(400, "the request is not a valid SCIM message", "invalidSyntax")
            except NotFound:
                return _error(404, "no such user")
            except Conflict as error:
                return _error(409, str(error), "uniqueness")
            except Invalid as error:
                return _error(400, f"{ATTRIBUTES.get(error.field, error.field)}: {error}", "invalidValue")
            except Forbidden as error:
                return _error(403, str(error))

        return scim_handler


router = APIRouter(tags=["scim"], route_class=ScimRoute)


# ------------------------------------------------------------------------------------------------- mapping


def to_entry(user: ScimUser, manager_id: str | None, before: RosterEntry | None = None) -> RosterEntry:
    """The roster entry a SCIM User describes, bounded as an import's rows; a 400 naming the attribute otherwise."""
    enterprise = user[EnterpriseUser] or EnterpriseUser()
    tandem = user[TandemUser] or TandemUser()
    employee_id = enterprise.employee_number or user.user_name
    if before is not None and employee_id != before.employee_id:
        raise ScimError(400, "employeeNumber is the employee id and cannot change", "mutability")
    grade = tandem.grade if tandem.grade is not None else (before.grade if before else None)
    if grade is None:
        raise ScimError(400, f"{ATTRIBUTES['grade']} is required", "invalidValue")
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "display_name": _display_name(user),
        "email": _email(user),
        "department": enterprise.department,
        "grade": grade,
        "manager_id": manager_id,
        "languages": [user.preferred_language.split("-")[0]] if user.preferred_language else [],
        "time_zone": user.timezone or (before.time_zone if before else "UTC"),
    }
    try:
        row = RosterRow.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        name = str(error.errors()[0]["loc"][0])
        raise ScimError(400, f"{ATTRIBUTES.get(name, name)} is missing or not valid", "invalidValue") from None
    entry = row.entry()
    return RosterEntry(
        **{**entry.__dict__, "active": user.active is not False, "user_name": user.user_name, "pseudonym": ""}
    )


def _display_name(user: ScimUser) -> str | None:
    if user.display_name:
        return user.display_name
    if user.name and user.name.formatted:
        return user.name.formatted
    if user.name:
        return " ".join(p for p in (user.name.given_name, user.name.family_name) if p) or None
    return None


def _email(user: ScimUser) -> str | None:
    emails = user.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    return str(chosen.value) if chosen and chosen.value else None


def to_user(entry: RosterEntry, key: str, base_url: str) -> ScimUser:
    enterprise = EnterpriseUser(
        employee_number=entry.employee_id,
        department=entry.department,
        manager=Manager(value=scim_id(key, entry.manager_id)) if entry.manager_id else None,
    )
    user = ScimUser(
        id=entry.pseudonym or scim_id(key, entry.employee_id),
        user_name=entry.user_name or entry.employee_id,
        external_id=entry.employee_id,
        display_name=entry.display_name,
        name=Name(formatted=entry.display_name),
        emails=[Email(value=entry.email, primary=True)],
        active=entry.active,
        timezone=entry.time_zone,
        preferred_language=entry.languages[0] if entry.languages else None,
    )
    user[EnterpriseUser] = enterprise
    user[TandemUser] = TandemUser(grade=entry.grade)
    user.meta = Meta(resource_type="User", location=f"{base_url}{USERS}/{user.id}")
    return user


def _parse(body: Any) -> ScimUser:
    try:
        return ScimUser.model_validate(body)
    except ValidationError:
        raise ScimError(400, "the body is not a valid SCIM User", "invalidValue") from None


def _respond(user: ScimUser, status: int = 200) -> Response:
    body = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    headers = {"Location": user.meta.location} if user.meta and user.meta.location else {}
    return JSONResponse(body, status_code=status, media_type=SCIM_JSON, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/enrolment/v1"


async def _manager(uow: Uow, user: ScimUser, key: str, before: RosterEntry | None = None) -> str | None:
    enterprise = user[EnterpriseUser]
    if enterprise is None or enterprise.manager is None or not enterprise.manager.value:
        return None
    if before is not None and before.manager_id and enterprise.manager.value == scim_id(key, before.manager_id):
        return before.manager_id  # unchanged, whether or not the manager is provisioned yet
    return await roster.resolve_manager(uow, enterprise.manager.value)


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


# ------------------------------------------------------------------------------------------------- routes


@router.post(USERS, include_in_schema=False)
async def create_user(request: Request, _: Admin, uow: Uow, key: PseudonymKey) -> Response:
    user = _parse(await _body(request))
    entry = to_entry(user, await _manager(uow, user, key))
    taken = await roster.find_by_employee(uow, entry.employee_id) or await roster.find_by_user_name(
        uow, user.user_name or ""
    )
    if taken is not None:
        raise ScimError(409, "a user with this employeeNumber or userName exists", "uniqueness")
    stored = await roster.provision(uow, entry, key)
    return _respond(to_user(stored, key, _base(request)), 201)


@router.get(USERS, include_in_schema=False)
async def list_users(
    request: Request,
    _: Admin,
    uow: Uow,
    key: PseudonymKey,
    filter: Annotated[str | None, Query(max_length=300)] = None,
    start_index: Annotated[int, Query(alias="startIndex", ge=1, le=1_000_000)] = 1,
    count: Annotated[int, Query(ge=0, le=500)] = 100,
) -> Response:
    if filter is not None:
        match = re.fullmatch(r'\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*', filter, flags=re.IGNORECASE)
        if match is None:
            raise ScimError(400, 'only the filter userName eq "…" is supported', "invalidFilter")
        found = await roster.find_by_user_name(uow, match.group(1).replace('\\"', '"'))
        entries, total = ([found], 1) if found else ([], 0)
        entries = entries[start_index - 1 : start_index - 1 + count]
    else:
        entries, total = await roster.entries(uow, start_index - 1, count)
    listed = ListResponse[ScimUser](
        total_results=total,
        start_index=start_index,
        items_per_page=len(entries),
        resources=[to_user(e, key, _base(request)) for e in entries],
    )
    return JSONResponse(listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE), media_type=SCIM_JSON)


@router.get(USERS + "/{user_id}", include_in_schema=False)
async def get_user(user_id: str, request: Request, _: Admin, uow: Uow, key: PseudonymKey) -> Response:
    return _respond(to_user(await roster.find(uow, user_id), key, _base(request)))


@router.put(USERS + "/{user_id}", include_in_schema=False)
async def replace_user(user_id: str, request: Request, _: Admin, uow: Uow, key: PseudonymKey) -> Response:
    before = await roster.find(uow, user_id)
    user = _parse(await _body(request))
    stored = await roster.provision(uow, to_entry(user, await _manager(uow, user, key, before), before), key)
    return _respond(to_user(stored, key, _base(request)))


@router.patch(USERS + "/{user_id}", include_in_schema=False)
async def patch_user(user_id: str, request: Request, _: Admin, uow: Uow, key: PseudonymKey) -> Response:
    before = await roster.find(uow, user_id)
    try:
        patch = PatchOp[ScimUser].model_validate(await _body(request))
    except ValidationError:
        raise ScimError(400, "the body is not a valid SCIM PatchOp", "invalidSyntax") from None
    user = to_user(before, key, _base(request))
    patch.patch(user)
    stored = await roster.provision(uow, to_entry(user, await _manager(uow, user, key, before), before), key)
    return _respond(to_user(stored, key, _base(request)))


@router.delete(USERS + "/{user_id}", include_in_schema=False)
async def delete_user(user_id: str, _: Admin, uow: Uow) -> Response:
    await roster.deprovision(uow, (await roster.find(uow, user_id)).employee_id)
    return Response(status_code=204)
