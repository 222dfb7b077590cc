from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from odoo.api import Environment

from ..dependencies import authenticated_env
from ..schemas import Cycles, ProgramDetail, ProgramEnrollments, Programs
from .common import (
    DEFAULT_LIMIT,
    ERRORS,
    NOT_FOUND,
    Limit,
    Offset,
    ProgramCode,
    found,
)

router = APIRouter(prefix="/programs", tags=["programs"], responses=ERRORS)

ProgramState = Literal["draft", "active", "ended"]
MembershipState = Literal["draft", "enrolled", "paused", "exited", "not_eligible"]
CycleState = Literal[
    "draft", "to_approve", "approved", "distributed", "ended", "cancelled"
]


@router.get("", response_model=Programs)
async def list_programs(
    env: Annotated[Environment, Depends(authenticated_env)],
    state: Annotated[ProgramState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The programs visible to the client."""
    return env["g2p.br.api.service"].programs(state, limit, offset)


@router.get("/{code}", response_model=ProgramDetail, responses=NOT_FOUND)
async def get_program(
    code: ProgramCode,
    env: Annotated[Environment, Depends(authenticated_env)],
):
    """A program with member counts by state and totals entitled and disbursed."""
    return found(env["g2p.br.api.service"].program_detail(code), "Program")


@router.get(
    "/{code}/enrollments", response_model=ProgramEnrollments, responses=NOT_FOUND
)
async def get_program_enrollments(
    code: ProgramCode,
    env: Annotated[Environment, Depends(authenticated_env)],
    state: Annotated[MembershipState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The memberships of a program."""
    service = env["g2p.br.api.service"]
    return found(service.program_enrollments(code, state, limit, offset), "Program")


@router.get("/{code}/cycles", response_model=Cycles, responses=NOT_FOUND)
async def get_program_cycles(
    code: ProgramCode,
    env: Annotated[Environment, Depends(authenticated_env)],
    state: Annotated[CycleState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The cycles of a program with their totals."""
    service = env["g2p.br.api.service"]
    return found(service.program_cycles(code, state, limit, offset), "Program")
