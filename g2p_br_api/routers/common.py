# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Parameters and answers shared by the routers."""

from typing import Annotated, Literal

from fastapi import Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

from odoo.api import Environment

from ..dependencies import authenticated_env
from ..error_handlers import ApiError
from ..schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    ErrorResponse,
    check_text,
    decode_cursor,
    parse_utc_datetime,
)

# the environment of the authenticated client's user
Env = Annotated[Environment, Depends(authenticated_env)]
MembershipState = Literal["draft", "enrolled", "paused", "exited", "not_eligible"]
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
IdTypeQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="Identifier type code, or `sr` for the Social Registry id",
    ),
    AfterValidator(check_text),
]
IdValueQuery = Annotated[
    str,
    Query(min_length=1, max_length=256, description="Identifier value (any value)"),
    AfterValidator(check_text),
]
IdValue = Annotated[str, Path(min_length=1, max_length=256), AfterValidator(check_text)]
ProgramCode = Annotated[
    str,
    Path(min_length=1, max_length=128, description="Program code"),
    AfterValidator(check_text),
]


def _optional(parse):
    def validate(value):
        return None if value is None else parse(value)

    return AfterValidator(validate)


Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        description="`next_cursor` of the previous page: the changes after it "
        "(takes precedence over `updated_since`)",
    ),
    _optional(decode_cursor),
]
UpdatedSince = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Only records changed at or after this RFC 3339 date-time "
        "(`2026-11-20T10:00:00Z`; without an offset: UTC)",
        examples=["2026-11-20T10:00:00Z"],
    ),
    _optional(parse_utc_datetime),
]
FeedLimit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1 to {MAX_LIMIT})")
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


def check_feed_offset(offset, updated_since, cursor):
    """A change feed pages with its cursor, not with an offset."""
    if offset and (updated_since is not None or cursor is not None):
        raise RequestValidationError(
            [
                {
                    "type": "offset_with_cursor",
                    "loc": ("query", "offset"),
                    "msg": "offset must be 0 with updated_since or cursor",
                }
            ]
        )


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
    "Cursor",
    "Env",
    "FeedLimit",
    "IdType",
    "IdTypeQuery",
    "IdValue",
    "IdValueQuery",
    "Limit",
    "MembershipState",
    "Offset",
    "ProgramCode",
    "UpdatedSince",
    "check_feed_offset",
    "found",
]
