"""Parameters and answers shared by the routers."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from ..error_handlers import ApiError
from ..schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, ErrorResponse, check_text

Limit = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_LIMIT,
        description=f"Page size (0 to {MAX_LIMIT}; 0 only counts)",
    ),
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
IdType = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="Identifier type code, or `sr` for the Social Registry id",
    ),
    AfterValidator(check_text),
]
IdValue = Annotated[str, Path(min_length=1, max_length=256), AfterValidator(check_text)]
ProgramCode = Annotated[
    str,
    Path(min_length=1, max_length=128, description="Program code"),
    AfterValidator(check_text),
]

NOT_FOUND = {
    404: {
        "model": ErrorResponse,
        "description": "Not found, or not visible to this client (the same "
        "answer, byte for byte): code `not_found`",
    }
}
UNAUTHORIZED = {
    401: {
        "model": ErrorResponse,
        "description": "Missing, invalid, expired or revoked key: code "
        "`missing_api_key` or `invalid_api_key`",
    }
}
FORBIDDEN = {
    403: {
        "model": ErrorResponse,
        "description": "The client's user may not do this: code `forbidden`",
    }
}
INVALID = {
    422: {
        "model": ErrorResponse,
        "description": "Invalid request: one error per problem, `code` is the "
        "validation error type (`missing`, `extra_forbidden`, `literal_error`, "
        "`json_invalid`, `body_not_utf8`, `json_too_deep`, `datetime_format`, "
        "`status_time_in_future`, ...) and `location` where it is",
    }
}
ERRORS = UNAUTHORIZED | INVALID


def not_found(what):
    return ApiError(404, "not_found", f"{what} not found")


def found(value, what):
    if value is None:
        raise not_found(what)
    return value


__all__ = [
    "DEFAULT_LIMIT",
    "ERRORS",
    "FORBIDDEN",
    "INVALID",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "IdType",
    "IdValue",
    "Limit",
    "Offset",
    "ProgramCode",
    "found",
]
