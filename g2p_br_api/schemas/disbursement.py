# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from .common import MAX_LIMIT, Code, UtcDateTime, check_text, parse_utc_datetime

Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(check_text)]

# A provider's clock may run a little ahead of ours; a status time later than
# this is refused (422 ``status_time_in_future``).
STATUS_TIME_MAX_AHEAD = timedelta(minutes=15)


def parse_status_time(value):
    """:func:`parse_utc_datetime`, and not more than 15 minutes ahead. One
    validator for both (a batch has up to 1,000 of them)."""
    parsed = parse_utc_datetime(value)
    if parsed > datetime.now(UTC).replace(tzinfo=None) + STATUS_TIME_MAX_AHEAD:
        raise PydanticCustomError(
            "status_time_in_future",
            "is more than 15 minutes in the future",
        )
    return parsed


StatusTime = Annotated[datetime, BeforeValidator(parse_status_time)]


class StatusUpdateItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Code = Field(description="Disbursement reference")
    status: Literal["pending", "sent", "paid", "failed", "reversed"]
    status_time: StatusTime = Field(
        description="When the status was reached: an ISO 8601 / RFC 3339 date-time "
        "string (`2026-11-20T10:00:00Z`, `2026-11-20T12:00:00+02:00`; without an "
        "offset the time is UTC). Numbers (Unix times) and dates alone are refused. "
        "It may not be more than 15 minutes in the future (422 "
        "`status_time_in_future`) nor before the disbursement was created (item "
        "error `status_time_before_creation`).",
        examples=["2026-11-20T10:00:00Z"],
    )
    failure_reason: Reason | None = None

    def to_core(self):
        return {
            "reference": self.reference,
            "status": self.status,
            # naive UTC, as Odoo stores it
            "status_time": self.status_time,
            "failure_reason": self.failure_reason or None,
        }


class StatusUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[StatusUpdateItem] = Field(min_length=1, max_length=MAX_LIMIT)


class StatusUpdateResult(BaseModel):
    reference: str
    result: Literal["applied", "unchanged", "error"]
    code: str | None = Field(
        None,
        description="Error code when result is error: `not_found`, "
        "`duplicate_reference`, `invalid_transition`, `missing_failure_reason`, "
        "`status_time_before_creation`",
    )
    message: str | None = None


class StatusUpdateSummary(BaseModel):
    applied: int
    unchanged: int
    error: int


class StatusUpdateResponse(BaseModel):
    summary: StatusUpdateSummary
    results: list[StatusUpdateResult]


class DisbursementBeneficiary(BaseModel):
    sr_id: str = Field(description="Social Registry id")
    identifiers: list[dict[str, str]] = Field(
        description="Identifiers of the beneficiary: `[{type, value}]`"
    )


class DisbursementDetail(BaseModel):
    """A disbursement as a payment provider needs it: what to pay, to whom."""

    reference: str
    program: str = Field(description="Program code")
    cycle_id: int | None = None
    cycle: str | None = Field(None, description="Cycle name")
    entitlement_id: int
    beneficiary: DisbursementBeneficiary
    channel: str | None = None
    amount: float | None = Field(None, description="Cash disbursements")
    currency: str | None = None
    quantity: float | None = Field(None, description="In-kind disbursements")
    unit: str | None = None
    status: Literal["pending", "sent", "paid", "failed", "reversed"]
    status_time: UtcDateTime | None = Field(
        None, description="When the current status was reached"
    )
    failure_reason: str | None = None
    updated_at: UtcDateTime = Field(
        description="Last change of the record (the change feed's order)"
    )


class DisbursementPage(BaseModel):
    """A page of a change feed, oldest change first."""

    items: list[DisbursementDetail]
    next_cursor: str = Field(
        description="Give it as `cursor` to get the changes after this page (also "
        "when `has_more` is false: to poll for later changes)"
    )
    has_more: bool = Field(description="More changes are available right now")
