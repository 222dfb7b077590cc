# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from typing import Annotated, Literal

from fastapi import APIRouter, Query

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


@router.get(
    "/{code}/enrollments", response_model=ProgramEnrollments, responses=NOT_FOUND
)
async def get_program_enrollments(
    code: ProgramCode,
    env: Env,
    state: Annotated[MembershipState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
):
    """The memberships of a program, with the beneficiaries' identifiers.

    Offset pagination by default (ordered by id). With `updated_since` (e.g.
    `1970-01-01T00:00:00Z` for everything) or `cursor`: a change feed, oldest
    change first, keyset-paginated on (last change, id) with `next_cursor`;
    no row is skipped or repeated while data changes (see the README);
    `offset` must then be 0."""
    service = env["g2p.br.api.service"]
    check_feed_offset(offset, updated_since, cursor)
    return found(
        service.program_enrollments(code, state, limit, offset, updated_since, cursor),
        "Program",
    )


@router.get("/{code}/cycles", response_model=Cycles, responses=NOT_FOUND)
async def get_program_cycles(
    code: ProgramCode,
    env: Env,
    state: Annotated[CycleState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The cycles of a program with their totals."""
    service = env["g2p.br.api.service"]
    return found(service.program_cycles(code, state, limit, offset), "Program")
