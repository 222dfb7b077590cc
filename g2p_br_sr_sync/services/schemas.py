# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pydantic v2 models of the parts of a DCI search response that the sync reads.

Only the envelope is modelled here: the registry records themselves are
validated against a model built from the connection's field mapping (see
:mod:`.record_mapping`), so that nothing but mapped values survives.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DciPagination(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page_size: int | None = None
    page_number: int | None = None
    total_count: int | None = Field(default=None, ge=0)


class DciSearchResponseItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reference_id: str | None = None
    status: str
    status_reason_code: str | None = None
    status_reason_message: str | None = None
    data: dict[str, Any] | None = None
    pagination: DciPagination | None = None


class DciMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    transaction_id: str | None = None
    search_response: list[DciSearchResponseItem] = Field(min_length=1)


class DciHeader(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_ts: Any = None  # read leniently: a bad value only loses the clock


class DciSearchResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    header: DciHeader | None = None
    message: DciMessage


class GraphqlRegRecords(BaseModel):
    """``data.reg_records`` of an OpenG2P Social Registry graphql answer."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    registrants: list[Any] = Field(alias="getRegistrants")
    total_count: int | None = Field(default=None, alias="totalRegistrantCount", ge=0)


class OAuthToken(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    token_type: str | None = "Bearer"
    expires_in: int | None = None
