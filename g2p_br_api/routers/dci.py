from typing import Annotated

from fastapi import APIRouter, Depends

from odoo.api import Environment

from ..dependencies import authenticated_env
from ..schemas import DciEnrolledRequest, DciEnrolledResponse
from .common import ERRORS

router = APIRouter(prefix="/dci/ibr", tags=["dci"], responses=ERRORS)


@router.post("/sync/enrolled", response_model=DciEnrolledResponse)
async def dci_sync_enrolled(
    body: DciEnrolledRequest,
    env: Annotated[Environment, Depends(authenticated_env)],
):
    """DCI Integrated Beneficiary Registry `enrolled` query (IBR API 1.0.0).

    Is this person (`person_identifier`, optionally typed with
    `person_identifier_type`) enrolled, in any programme visible to the caller or
    in the given `programme_identifier`? Answers `enrolled_status` `yes`/`no` in
    the DCI envelope; a query the BR cannot answer gets `status` `rjct` with a
    reason. A person the caller cannot see is reported as not enrolled.
    """
    return env["g2p.br.api.service"].dci_enrolled(body.model_dump())
