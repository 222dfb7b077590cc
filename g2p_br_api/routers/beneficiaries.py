# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import inspect
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ..schemas import (
    BeneficiaryDetail,
    BulkEnrollments,
    BulkEntitlements,
    BulkLookupRequest,
    Code,
    Enrollments,
    Entitlements,
)
from .common import (
    DEFAULT_LIMIT,
    ERRORS,
    NOT_FOUND,
    Cursor,
    Env,
    IdType,
    IdTypeQuery,
    IdValue,
    IdValueQuery,
    Limit,
    MembershipState,
    Offset,
    UpdatedSince,
    check_feed_offset,
    found,
)

router = APIRouter(
    prefix="/beneficiaries", tags=["beneficiaries"], responses=ERRORS | NOT_FOUND
)

EntitlementState = Literal[
    "draft", "pending_approval", "approved", "rejected", "cancelled", "expired"
]
# the entitlement filters of both forms of the entitlements endpoint
ProgramFilter = Annotated[Code | None, Query(description="Program code")]
CycleFilter = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Cycle id")]
EntitlementStateFilter = Annotated[EntitlementState | None, Query()]


# bulk lookups; declared before the path forms (whose two segments they never
# match anyway)


@router.post("/enrollments", response_model=BulkEnrollments)
async def bulk_enrollments(
    body: BulkLookupRequest,
    env: Env,
):
    """Enrollments of up to 1,000 people in one call: one result per
    identifier, in the order given (`found` false for a person who does not
    exist or is not visible to the client: the same answer)."""
    identifiers = [(i.type, i.value) for i in body.identifiers]
    return env["g2p.br.api.service"].bulk_enrollments(identifiers)


@router.post("/entitlements", response_model=BulkEntitlements)
async def bulk_entitlements(
    body: BulkLookupRequest,
    env: Env,
):
    """Entitlements (with their disbursements) of up to 1,000 people in one
    call: one result per identifier, in the order given."""
    identifiers = [(i.type, i.value) for i in body.identifiers]
    return env["g2p.br.api.service"].bulk_entitlements(identifiers)


@router.get("/{id_type}/{id_value}", response_model=BeneficiaryDetail)
async def get_beneficiary(
    id_type: IdType,
    id_value: IdValue,
    env: Env,
):
    """A beneficiary with its identifiers, minimal demographics, enrollments and a
    summary of its entitlements."""
    service = env["g2p.br.api.service"]
    return found(service.beneficiary_detail(id_type, id_value), "Beneficiary")


@router.get("/{id_type}/{id_value}/enrollments", response_model=Enrollments)
async def get_beneficiary_enrollments(
    id_type: IdType,
    id_value: IdValue,
    env: Env,
    state: Annotated[MembershipState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    """The programs a beneficiary is a member of, with the membership state and
    dates."""
    service = env["g2p.br.api.service"]
    return found(
        service.beneficiary_enrollments(id_type, id_value, state, limit, offset),
        "Beneficiary",
    )


@router.get("/{id_type}/{id_value}/entitlements", response_model=Entitlements)
async def get_beneficiary_entitlements(
    id_type: IdType,
    id_value: IdValue,
    env: Env,
    program: ProgramFilter = None,
    cycle: CycleFilter = None,
    state: EntitlementStateFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
):
    """Entitlements of a beneficiary with their disbursements.

    Offset pagination by default (latest first). With `updated_since` or
    `cursor`: a change feed (oldest change first, `next_cursor`), as on
    `/programs/{code}/enrollments`; `offset` must then be 0."""
    service = env["g2p.br.api.service"]
    check_feed_offset(offset, updated_since, cursor)
    return found(
        service.beneficiary_entitlements(
            id_type,
            id_value,
            program,
            cycle,
            state,
            limit,
            offset,
            updated_since,
            cursor,
        ),
        "Beneficiary",
    )


# The same three reads with the identifier as query parameters (any value, also
# with "/"): each path form again, its identifier read from the query string.
# Same handler, same parameters: a rewritten signature, not a sub-dependency
# (sharing parameters as sub-dependencies made every request about 6 ms
# slower: OCA fastapi's dependency overrides make FastAPI analyse them again
# on every request).
def _identifier_in_query(path, handler, response_model):
    signature = inspect.signature(handler)
    in_query = {"id_type": IdTypeQuery, "id_value": IdValueQuery}
    parameters = [
        parameter.replace(annotation=in_query.get(parameter.name, parameter.annotation))
        for parameter in signature.parameters.values()
    ]

    async def endpoint(**kwargs):
        return await handler(**kwargs)

    endpoint.__signature__ = signature.replace(parameters=parameters)
    endpoint.__name__ = f"{handler.__name__}_by_query"
    endpoint.__doc__ = (
        f"`/beneficiaries/{{id_type}}/{{id_value}}{path}` with the identifier as "
        "query parameters: `?id_type=NID&id_value=12/345`."
    )
    router.get(path, response_model=response_model)(endpoint)


_identifier_in_query("", get_beneficiary, BeneficiaryDetail)
_identifier_in_query("/enrollments", get_beneficiary_enrollments, Enrollments)
_identifier_in_query("/entitlements", get_beneficiary_entitlements, Entitlements)
