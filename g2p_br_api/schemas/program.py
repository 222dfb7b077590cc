from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Totals(_Schema):
    members: dict[str, int] = Field(description="Member counts by membership state")
    entitled: float = Field(description="Total entitled (amount or quantity)")
    disbursed: float = Field(description="Total disbursed (amount or quantity)")


class Program(_Schema):
    code: str
    name: str
    state: str = Field(description="draft, active or ended")
    target_type: str | None = None
    benefit_kind: str | None = None
    currency: str | None = None
    item: str | None = None
    unit: str | None = None
    cycle_frequency: str | None = None


class Programs(_Schema):
    total: int
    limit: int
    offset: int
    items: list[Program]


class ProgramDetail(Program):
    description: str | None = None
    totals: Totals


class ProgramEnrollment(_Schema):
    sr_id: str = Field(description="Social Registry id of the beneficiary")
    kind: str | None = None
    state: str
    enrollment_date: date | None = None
    exit_date: date | None = None
    exit_reason: str | None = None


class ProgramEnrollments(_Schema):
    total: int
    limit: int
    offset: int
    items: list[ProgramEnrollment]


class Cycle(_Schema):
    id: int
    name: str
    start_date: date | None = None
    end_date: date | None = None
    state: str
    totals: Totals


class Cycles(_Schema):
    total: int
    limit: int
    offset: int
    items: list[Cycle]
