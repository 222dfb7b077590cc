# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from fastapi import APIRouter

from ..schemas import DciEnrolledRequest, DciEnrolledResponse
from .common import ERRORS, FORBIDDEN, Env

router = APIRouter(tags=["dci"], responses=ERRORS | FORBIDDEN)

DESCRIPTION = """DCI Integrated Beneficiary Registry `enrolled` query (IBR API
1.0.0, `/registry/sync/enrolled`).

Is this person (`person_identifier`, optionally typed with
`person_identifier_type`) enrolled, in any programme visible to the caller or
in the given `programme_identifier`? Answers `enrolled_status` `yes`/`no` in
the DCI envelope, one `enrolled_response` item per query: the spec's single
`enrolled_criteria`, or (extension) several queries in `search_request[]`,
answered in order with their `reference_id`. A query the BR cannot answer gets
an item with `status` `rjct`, a `SearchStatusReasonCode` and `enrolled_status`
`no`; an encrypted message or an unknown action a `rjct` header. A person the
caller cannot see is reported as not enrolled. Errors (401, 403, 422, 500) are
the spec's `HttpErrorResponse` `{"errors": [{"code", "message"}]}`.
"""


async def _enrolled(body, env):
    return env["g2p.br.api.service"].dci_enrolled(body.model_dump())


@router.post(
    "/registry/sync/enrolled",
    response_model=DciEnrolledResponse,
    response_model_exclude_none=True,
    description=DESCRIPTION,
    summary="DCI IBR enrolled query",
)
async def dci_sync_enrolled(
    body: DciEnrolledRequest,
    env: Env,
):
    return await _enrolled(body, env)


@router.post(
    "/dci/ibr/sync/enrolled",
    response_model=DciEnrolledResponse,
    response_model_exclude_none=True,
    deprecated=True,
    description="Deprecated alias of `/registry/sync/enrolled` (same answers).",
    summary="DCI IBR enrolled query (deprecated path)",
)
async def dci_sync_enrolled_legacy(
    body: DciEnrolledRequest,
    env: Env,
):
    return await _enrolled(body, env)
