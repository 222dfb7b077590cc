from typing import Annotated

from fastapi import APIRouter, Depends, Request

from odoo.api import Environment

from ..dependencies import authenticated_env
from ..error_handlers import ApiError
from ..schemas import StatusUpdateRequest, StatusUpdateResponse
from .common import ERRORS, FORBIDDEN

router = APIRouter(prefix="/disbursements", tags=["disbursements"], responses=ERRORS)


@router.post(
    "/status",
    response_model=StatusUpdateResponse,
    responses=FORBIDDEN,
)
async def post_disbursement_status(
    body: StatusUpdateRequest,
    request: Request,
    env: Annotated[Environment, Depends(authenticated_env)],
):
    """Report the status of up to 1,000 disbursements (payment providers).

    Allowed transitions are applied; sending the same update again changes
    nothing (`unchanged`); an item that cannot be applied gets `error` with a
    code and a message, and never blocks the others. A reference reported
    twice in one batch gets `duplicate_reference` from its second report on
    (the first is processed). Every call is logged.
    """
    service = env["g2p.br.api.service"]
    endpoint = request.scope["route"].path
    if not service.can_write_disbursement_status():
        service._log_forbidden_call(endpoint, len(body.items))
        raise ApiError(
            403, "forbidden", "This client may not report disbursement status"
        )
    items = [item.to_core() for item in body.items]
    return service._apply_status_report(endpoint, items)
