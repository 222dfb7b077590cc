"""Parameters and answers shared by the routers."""

from typing import Annotated

from fastapi import HTTPException, Path, Query, status
from pydantic import AfterValidator

from ..schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, check_text

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

NOT_FOUND = {404: {"description": "Not found (or not visible to this client)"}}
UNAUTHORIZED = {401: {"description": "Missing, invalid, expired or revoked key"}}


def not_found(what):
    return HTTPException(
        status_code=status.HTTP_404_NOT_FOUND, detail=f"{what} not found"
    )


def found(value, what):
    if value is None:
        raise not_found(what)
    return value


__all__ = [
    "DEFAULT_LIMIT",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "IdType",
    "IdValue",
    "Limit",
    "Offset",
    "ProgramCode",
    "found",
]
