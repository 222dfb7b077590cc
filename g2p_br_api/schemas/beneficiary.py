# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from typing import Annotated, Generic

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from .common import MAX_LIMIT, FeedPage, ItemT, Schema, UtcDateTime, check_text


class Identifier(Schema):
    type: str = Field(description="Identifier type code")
    value: str


class Enrollment(Schema):
    program: str = Field(description="Program code")
    program_name: str
    state: str = Field(
        description="Membership state: draft, enrolled, paused, exited, not_eligible"
    )
    enrollment_date: date | None = None
    exit_date: date | None = None
    exit_reason: str | None = None


class Enrollments(Schema):
    total: int
    limit: int
    offset: int
    items: list[Enrollment]


class Disbursement(Schema):
    reference: str
    channel: str | None = None
    amount: float | None = None
    quantity: float | None = None
    status: str = Field(description="pending, sent, paid, failed or reversed")
    status_time: UtcDateTime | None = Field(
        None, description="When the current status was reached (UTC)"
    )
    failure_reason: str | None = None


class Entitlement(Schema):
    id: int
    program: str = Field(description="Program code")
    cycle_id: int | None = None
    cycle: str | None = Field(None, description="Cycle name")
    kind: str = Field(description="cash or in_kind")
    amount: float | None = Field(None, description="Cash entitlements")
    currency: str | None = None
    quantity: float | None = Field(None, description="In-kind entitlements")
    unit: str | None = None
    item: str | None = Field(None, description="Item code (in-kind)")
    state: str
    valid_from: date | None = None
    valid_until: date | None = None
    disbursed_total: float = 0.0
    remaining: float = 0.0
    disbursement_status: str | None = None
    disbursements: list[Disbursement] = []
    updated_at: UtcDateTime | None = Field(
        None, description="Last change of the entitlement (the change feed's order)"
    )


class Entitlements(FeedPage[Entitlement]):
    total: int | None = Field(
        description="Matching entitlements; null in change-feed mode "
        "(`updated_since` or `cursor` given)"
    )


class EntitlementSummary(Schema):
    total: int = Field(description="Number of entitlements visible to the client")
    by_state: dict[str, int]
    by_disbursement_status: dict[str, int]


class BeneficiaryDetail(Schema):
    sr_id: str = Field(description="Social Registry id")
    kind: str = Field(description="individual or group")
    active: bool
    identifiers: list[Identifier]
    sex: str | None = None
    birth_date: date | None = None
    region_code: str | None = None
    group_size: int | None = None
    disability: bool = False
    poverty_score: float | None = Field(None, description="Groups only")
    household_sr_id: str | None = Field(
        None,
        # the core's get_summary() calls it group_sr_id
        validation_alias=AliasChoices("household_sr_id", "group_sr_id"),
        description="SR id of the household of an individual",
    )
    sr_updated_at: UtcDateTime | None = Field(
        None, description="Last update in the Social Registry (UTC)"
    )
    synced_at: UtcDateTime | None = Field(
        None, description="Last synchronisation from the Social Registry (UTC)"
    )
    enrollments: list[Enrollment]
    entitlements: EntitlementSummary


class IdentifierRef(BaseModel):
    """One person to look up: identifier type code (``sr`` for the Social
    Registry id) and value (any value, also with ``/``)."""

    model_config = ConfigDict(extra="forbid")

    type: Annotated[
        str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_text)
    ]
    value: Annotated[
        str, StringConstraints(min_length=1, max_length=256), AfterValidator(check_text)
    ]


class BulkLookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifiers: list[IdentifierRef] = Field(
        min_length=1,
        max_length=MAX_LIMIT,
        description=f"1 to {MAX_LIMIT} identifiers; answered in this order, one "
        "result each (duplicates included)",
    )


class BulkResult(Schema, Generic[ItemT]):
    type: str
    value: str
    found: bool = Field(
        description="false when nobody has this identifier or the client may not "
        "see the person (the same answer)"
    )
    sr_id: str | None = None
    items: list[ItemT]


class BulkEnrollmentResult(BulkResult[Enrollment]):
    pass


class BulkEnrollments(Schema):
    results: list[BulkEnrollmentResult]


class BulkEntitlementResult(BulkResult[Entitlement]):
    pass


class BulkEntitlements(Schema):
    results: list[BulkEntitlementResult]
