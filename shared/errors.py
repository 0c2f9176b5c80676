"""Domain outcomes every service maps to HTTP the same way (see shared/http.py)."""


class NotFound(LookupError):
    """404: the thing named in the request does not exist."""


class Conflict(Exception):
    """409: the request contradicts the current state (a second enrolment, a dissolved pair, …)."""


class Forbidden(PermissionError):
    """403: authenticated, but not allowed to act on this resource (e.g. a participant for someone else)."""


class Invalid(ValueError):
    """422: the request is well-formed but breaks a domain rule about one of its fields."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
