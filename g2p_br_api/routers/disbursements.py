# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from ..error_handlers import ApiError
from ..schemas import (
    Code,
    DisbursementDetail,
    DisbursementPage,
    StatusUpdateRequest,
    StatusUpdateResponse,
)
from .common import (
    DEFAULT_LIMIT,
    ERRORS,
    FORBIDDEN,
    NOT_FOUND,
    Cursor,
    Env,
    FeedLimit,
    UpdatedSince,
    found,
)

router = APIRouter(prefix="/disbursements", tags=["disbursements"], responses=ERRORS)

DisbursementStatus = Literal["pending", "sent", "paid", "failed", "reversed"]


@router.get("", response_model=DisbursementPage, responses=NOT_FOUND)
async def list_disbursements(
    env: Env,
    program: Annotated[Code | None, Query(description="Program code")] = None,
    cycle: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Cycle id")
    ] = None,
    state: Annotated[
        DisbursementStatus | None, Query(description="Disbursement status")
    ] = None,
    reference: Annotated[
        Code | None,
        Query(description="One reference (any value, also with `/`)"),
    ] = None,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: FeedLimit = DEFAULT_LIMIT,
):
    """The disbursements of the client's programs, as a change feed: oldest
    change first, ordered by (last change, id), with a `next_cursor` to give
    back for the next page. What a payment provider is to pay:
    `?program=SCG&cycle=12&state=pending`. Polling with the last
    `next_cursor` returns every change made since, exactly once (see the
    README). A `program` the client cannot see answers 404."""
    service = env["g2p.br.api.service"]
    return found(
        service.disbursements(
            program, cycle, state, updated_since, cursor, limit, reference
        ),
        "Program",
    )


@router.get("/{reference:path}", response_model=DisbursementDetail, responses=NOT_FOUND)
async def get_disbursement(
    reference: Annotated[Code, Path(description="Disbursement reference")],
    env: Env,
):
    """One disbursement by its reference: program, cycle, beneficiary (SR id and
    identifiers), amount, channel and status. 404 when it does not exist or
    belongs to a program of another client."""
    return found(env["g2p.br.api.service"].disbursement(reference), "Disbursement")


@router.post(
    "/status",
    response_model=StatusUpdateResponse,
    responses=FORBIDDEN,
)
async def post_disbursement_status(
    body: StatusUpdateRequest,
    request: Request,
    env: Env,
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
    # already in the shape of StatusUpdateResponse (the tests check it against
    # the schema): returned as is, FastAPI does not validate and serialize the
    # 1,000 results again (about a tenth of a batch's time in the server)
    return JSONResponse(service._apply_status_report(endpoint, items))
