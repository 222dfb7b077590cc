from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

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


@dataclass
class EnrollmentFilters:
    """The filters and the page of an enrollments lookup."""

    state: Annotated[MembershipState | None, Query()] = None
    limit: Limit = DEFAULT_LIMIT
    offset: Offset = 0


@dataclass
class EntitlementFilters:
    """The filters and the page (or change feed) of an entitlements lookup."""

    program: Annotated[Code | None, Query(description="Program code")] = None
    cycle: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Cycle id")] = (
        None
    )
    state: Annotated[EntitlementState | None, Query()] = None
    limit: Limit = DEFAULT_LIMIT
    offset: Offset = 0
    updated_since: UpdatedSince = None
    cursor: Cursor = None


async def person_in_path(id_type: IdType, id_value: IdValue) -> tuple[str, str]:
    """The person looked up, from the path: ``/{id_type}/{id_value}``."""
    return id_type, id_value


async def person_in_query(
    id_type: IdTypeQuery, id_value: IdValueQuery
) -> tuple[str, str]:
    """The person looked up, from the query string (any value, also with
    ``/``): ``?id_type=NID&id_value=12/345``."""
    return id_type, id_value


PersonInPath = Annotated[tuple[str, str], Depends(person_in_path)]
PersonInQuery = Annotated[tuple[str, str], Depends(person_in_query)]
EnrollmentParams = Annotated[EnrollmentFilters, Depends()]
EntitlementParams = Annotated[EntitlementFilters, Depends()]


def _detail(env, person):
    service = env["g2p.br.api.service"]
    return found(service.beneficiary_detail(*person), "Beneficiary")


def _enrollments(env, person, query):
    service = env["g2p.br.api.service"]
    return found(
        service.beneficiary_enrollments(
            *person, query.state, query.limit, query.offset
        ),
        "Beneficiary",
    )


def _entitlements(env, person, query):
    service = env["g2p.br.api.service"]
    check_feed_offset(query.offset, query.updated_since, query.cursor)
    return found(
        service.beneficiary_entitlements(
            *person,
            query.program,
            query.cycle,
            query.state,
            query.limit,
            query.offset,
            query.updated_since,
            query.cursor,
        ),
        "Beneficiary",
    )


# identifiers as query parameters (any value, also with "/"), and bulk lookups;
# declared before the path forms, whose two segments they never match anyway


@router.get("", response_model=BeneficiaryDetail)
async def get_beneficiary_by_query(person: PersonInQuery, env: Env):
    """`/beneficiaries/{id_type}/{id_value}` with the identifier as query
    parameters: `?id_type=NID&id_value=12/345`."""
    return _detail(env, person)


@router.get("/enrollments", response_model=Enrollments)
async def get_beneficiary_enrollments_by_query(
    person: PersonInQuery, query: EnrollmentParams, env: Env
):
    """`/beneficiaries/{id_type}/{id_value}/enrollments` with the identifier as
    query parameters."""
    return _enrollments(env, person, query)


@router.get("/entitlements", response_model=Entitlements)
async def get_beneficiary_entitlements_by_query(
    person: PersonInQuery, query: EntitlementParams, env: Env
):
    """`/beneficiaries/{id_type}/{id_value}/entitlements` with the identifier as
    query parameters."""
    return _entitlements(env, person, query)


@router.post("/enrollments", response_model=BulkEnrollments)
async def bulk_enrollments(body: BulkLookupRequest, env: Env):
    """Enrollments of up to 1,000 people in one call: one result per
    identifier, in the order given (`found` false for a person who does not
    exist or is not visible to the client: the same answer)."""
    identifiers = [(i.type, i.value) for i in body.identifiers]
    return env["g2p.br.api.service"].bulk_enrollments(identifiers)


@router.post("/entitlements", response_model=BulkEntitlements)
async def bulk_entitlements(body: BulkLookupRequest, env: Env):
    """Entitlements (with their disbursements) of up to 1,000 people in one
    call: one result per identifier, in the order given."""
    identifiers = [(i.type, i.value) for i in body.identifiers]
    return env["g2p.br.api.service"].bulk_entitlements(identifiers)


@router.get("/{id_type}/{id_value}", response_model=BeneficiaryDetail)
async def get_beneficiary(person: PersonInPath, env: Env):
    """A beneficiary with its identifiers, minimal demographics, enrollments and a
    summary of its entitlements."""
    return _detail(env, person)


@router.get("/{id_type}/{id_value}/enrollments", response_model=Enrollments)
async def get_beneficiary_enrollments(
    person: PersonInPath, query: EnrollmentParams, env: Env
):
    """The programs a beneficiary is a member of, with the membership state and
    dates."""
    return _enrollments(env, person, query)


@router.get("/{id_type}/{id_value}/entitlements", response_model=Entitlements)
async def get_beneficiary_entitlements(
    person: PersonInPath, query: EntitlementParams, env: Env
):
    """Entitlements of a beneficiary with their disbursements.

    Offset pagination by default (latest first). With `updated_since` or
    `cursor`: a change feed (oldest change first, `next_cursor`), as on
    `/programs/{code}/enrollments`; `offset` must then be 0."""
    return _entitlements(env, person, query)
