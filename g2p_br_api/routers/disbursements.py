from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from odoo.api import Environment

from ..dependencies import authenticated_env
from ..schemas import StatusUpdateRequest, StatusUpdateResponse
from .common import UNAUTHORIZED

router = APIRouter(
    prefix="/disbursements", tags=["disbursements"], responses=UNAUTHORIZED
)


@router.post(
    "/status",
    response_model=StatusUpdateResponse,
    responses={403: {"description": "The client may not report disbursements"}},
)
async def post_disbursement_status(
    body: StatusUpdateRequest,
    request: Request,
    env: Annotated[Environment, Depends(authenticated_env)],
):
    """Report the status of up to 1,000 disbursements (payment providers).

    Allowed transitions are applied; sending the same update again changes
    nothing (`unchanged`); an item that cannot be applied gets `error` with a
    code and a message, and never blocks the others. Every call is logged.
    """
    service = env["g2p.br.api.service"]
    endpoint = request.scope["route"].path
    if not service.can_write_disbursement_status():
        service.log_forbidden_call(endpoint, len(body.items))
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="This client may not report disbursement status",
        )
    items = [item.to_core() for item in body.items]
    return service.disbursement_status_updates(endpoint, items)
