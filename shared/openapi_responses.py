"""The error responses every operation of a service documents, declared once for all routers (issue #13): a client
generated from the OpenAPI document, and schemathesis' status-code conformance check, see each 4xx/503 an endpoint
really gives. Derived from each operation as documented (its security requirement, path parameters and method)
rather than listed by hand beside each endpoint, so a new endpoint cannot forget them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """An error, as an RFC 9457 problem document. Every member is optional, so the bodies errors have today
    (`{"detail": "..."}`) conform too; other members may appear (extension members)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="A URI reference that identifies the problem type.")
    title: str | None = Field(None, description="A short, human-readable summary of the problem type.")
    status: int | None = Field(None, description="The HTTP status code of this occurrence.")
    detail: str | None = Field(None, description="What went wrong in this occurrence; never personal data.")
    instance: str | None = Field(None, description="A URI reference that identifies this occurrence.")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: FastAPI's location, e.g. ['body', 'targets', 'pairs_formed'].")
    field: str = Field(description="The field's name (the last name in `loc`).")
    msg: str
    type: str | None = None


class ValidationProblem(Problem):
    """A 422: the problem document with one entry per bad field (shared/problems.py); the input is never echoed."""

    errors: list[FieldError] = Field(default_factory=list)


MALFORMED = {"400": "The body is not well-formed JSON."}
UNAUTHORIZED = {"401": "No bearer token, or one that is invalid or expired."}
FORBIDDEN = {"403": "The token's roles (or membership) do not allow this."}
NOT_FOUND = {"404": "Nothing with the id in the path."}
CONFLICT = {"409": "The request conflicts with the current state (or a concurrent write)."}
TOO_LARGE = {"413": "The request body is larger than the service accepts."}
UNAVAILABLE = {"503": "A dependency (the database) is unreachable; retry after the Retry-After header."}
WRITES = frozenset({"post", "put", "patch", "delete"})
METHODS = WRITES | {"get", "head", "options"}


def error_responses(method: str, operation: dict[str, Any]) -> dict[str, str]:
    """Status code -> description of what this operation can answer besides its success and FastAPI's 422."""
    codes = dict(UNAVAILABLE)
    if operation.get("security"):
        codes |= UNAUTHORIZED | FORBIDDEN
    if any(p.get("in") == "path" for p in operation.get("parameters", ())):
        codes |= NOT_FOUND
    if "requestBody" in operation:
        codes |= MALFORMED
    if method in WRITES:
        codes |= CONFLICT | TOO_LARGE
    return codes


def add_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Add the standard error responses to every operation of an OpenAPI document; an operation's own wins."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldError, ValidationProblem):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas[model.__name__].pop("$defs", {}))
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    invalid = {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:  # FastAPI documents its own validation body; ours is a problem document
                responses["422"] = {
                    "description": "A field is invalid: `errors` names each one.",
                    "content": {"application/problem+json": invalid},
                }
            for code, description in error_responses(method, operation).items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": problem, "application/json": problem},
                    },
                )
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 bodies, replaced above
        schemas.pop(unused, None)
    return document


def document_error_responses(app: FastAPI) -> None:
    """Have `app`'s OpenAPI document (built once, on first request) list the standard error responses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_error_responses(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
