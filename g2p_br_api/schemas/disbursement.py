from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .common import MAX_LIMIT, Code, check_text

Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(check_text)]


class StatusUpdateItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Code = Field(description="Disbursement reference")
    status: Literal["pending", "sent", "paid", "failed", "reversed"]
    status_time: datetime = Field(
        description="When the status was reached (ISO 8601; naive times are UTC)"
    )
    failure_reason: Reason | None = None

    def to_core(self):
        status_time = self.status_time
        if status_time.tzinfo is not None:
            status_time = status_time.astimezone(UTC).replace(tzinfo=None)
        return {
            "reference": self.reference,
            "status": self.status,
            "status_time": status_time,
            "failure_reason": self.failure_reason or None,
        }


class StatusUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[StatusUpdateItem] = Field(min_length=1, max_length=MAX_LIMIT)


class StatusUpdateResult(BaseModel):
    reference: str
    result: Literal["applied", "unchanged", "error"]
    code: str | None = Field(None, description="Error code when result is error")
    message: str | None = None


class StatusUpdateSummary(BaseModel):
    applied: int
    unchanged: int
    error: int


class StatusUpdateResponse(BaseModel):
    summary: StatusUpdateSummary
    results: list[StatusUpdateResult]
