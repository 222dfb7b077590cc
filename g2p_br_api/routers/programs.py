from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from ..schemas import Cycles, ProgramDetail, ProgramEnrollments, Programs
from .common import (
    DEFAULT_LIMIT,
    ERRORS,
    NOT_FOUND,
    Cursor,
    Env,
    Limit,
    MembershipState,
    Offset,
    ProgramCode,
    UpdatedSince,
    check_feed_offset,
    found,
)

router = APIRouter(prefix="/programs", tags=["programs"], responses=ERRORS)

ProgramState = Literal["draft", "active", "ended"]
CycleState = Literal[
    "draft", "to_approve", "approved", "distributed", "ended", "cancelled"
]


@router.get("", response_model=Programs)
async def list_programs(
    env: Env,
    state: Annotated[ProgramState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The programs visible to the client."""
    return env["g2p.br.api.service"].programs(state, limit, offset)


@router.get("/{code}", response_model=ProgramDetail, responses=NOT_FOUND)
async def get_program(
    code: ProgramCode,
    env: Env,
):
    """A program with member counts by state and totals entitled and disbursed."""
    return found(env["g2p.br.api.service"].program_detail(code), "Program")


@dataclass
class MembershipFilters:
    """The filters and the page (or change feed) of a program's memberships."""

    state: Annotated[MembershipState | None, Query()] = None
    limit: Limit = DEFAULT_LIMIT
    offset: Offset = 0
    updated_since: UpdatedSince = None
    cursor: Cursor = None


@dataclass
class CycleFilters:
    """The filter and the page of a program's cycles."""

    state: Annotated[CycleState | None, Query()] = None
    limit: Limit = DEFAULT_LIMIT
    offset: Offset = 0


@router.get(
    "/{code}/enrollments", response_model=ProgramEnrollments, responses=NOT_FOUND
)
async def get_program_enrollments(
    code: ProgramCode,
    query: Annotated[MembershipFilters, Depends()],
    env: Env,
):
    """The memberships of a program, with the beneficiaries' identifiers.

    Offset pagination by default (ordered by id). With `updated_since` (e.g.
    `1970-01-01T00:00:00Z` for everything) or `cursor`: a change feed, oldest
    change first, keyset-paginated on (last change, id) with `next_cursor`;
    no row is skipped or repeated while data changes (see the README);
    `offset` must then be 0."""
    service = env["g2p.br.api.service"]
    check_feed_offset(query.offset, query.updated_since, query.cursor)
    return found(
        service.program_enrollments(
            code,
            query.state,
            query.limit,
            query.offset,
            query.updated_since,
            query.cursor,
        ),
        "Program",
    )


@router.get("/{code}/cycles", response_model=Cycles, responses=NOT_FOUND)
async def get_program_cycles(
    code: ProgramCode,
    query: Annotated[CycleFilters, Depends()],
    env: Env,
):
    """The cycles of a program with their totals."""
    service = env["g2p.br.api.service"]
    return found(
        service.program_cycles(code, query.state, query.limit, query.offset),
        "Program",
    )
