# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from pydantic import Field

from .beneficiary import Identifier
from .common import FeedPage, Schema, UtcDateTime


class Totals(Schema):
    members: dict[str, int] = Field(description="Member counts by membership state")
    entitled: float = Field(description="Total entitled (amount or quantity)")
    disbursed: float = Field(description="Total disbursed (amount or quantity)")


class Program(Schema):
    code: str
    name: str
    state: str = Field(description="draft, active or ended")
    target_type: str | None = None
    benefit_kind: str | None = None
    currency: str | None = None
    item: str | None = None
    unit: str | None = None
    cycle_frequency: str | None = None


class Programs(Schema):
    total: int
    limit: int
    offset: int
    items: list[Program]


class ProgramDetail(Program):
    description: str | None = None
    totals: Totals


class ProgramEnrollment(Schema):
    sr_id: str = Field(description="Social Registry id of the beneficiary")
    kind: str | None = None
    identifiers: list[Identifier] = Field(
        [], description="Identifiers of the beneficiary"
    )
    state: str
    enrollment_date: date | None = None
    exit_date: date | None = None
    exit_reason: str | None = None
    updated_at: UtcDateTime | None = Field(
        None, description="Last change of the membership (the change feed's order)"
    )


class ProgramEnrollments(FeedPage[ProgramEnrollment]):
    total: int | None = Field(
        description="Matching memberships; null in change-feed mode (`updated_since` "
        "or `cursor` given)"
    )


class Cycle(Schema):
    id: int
    name: str
    start_date: date | None = None
    end_date: date | None = None
    state: str
    totals: Totals


class Cycles(Schema):
    total: int
    limit: int
    offset: int
    items: list[Cycle]
