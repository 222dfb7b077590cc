"""DCI Integrated Beneficiary Registry (IBR) 1.0.0 envelope for the
``/registry/sync/enrolled`` query (spdci/standards, release/yaml/ibr_api_v1.0.0.yaml).
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .common import check_text

DciText = Annotated[str, StringConstraints(max_length=999), AfterValidator(check_text)]
DciId = Annotated[str, StringConstraints(max_length=99), AfterValidator(check_text)]


class DciRequestHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: DciId = "1.0.0"
    message_id: DciId
    message_ts: datetime
    action: DciId = Field(description="`search` (the IBR sample) or `enrolled`")
    sender_id: DciText
    sender_uri: DciText | None = None
    receiver_id: DciText | None = None
    total_count: int = Field(1, ge=0, le=1_000_000)
    is_msg_encrypted: bool = False
    meta: Any = None


class DciEnrolledCriteria(BaseModel):
    query_type: Literal["idtype-value", "expression", "predicate"] = "idtype-value"
    response_entity: DciText | None = None
    query: dict[str, Any] | list[dict[str, Any]] = Field(
        description="Either the IBR example form "
        '`{"person_identifier": {"eq": "..."}, '
        '"programme_identifier.program.programme_identifier": {"eq": "..."}}` '
        '(optionally with `"person_identifier_type": {"eq": "<type code>"}`), '
        '`{"type": "<type code>", "value": "..."}`, or expressions '
        '`{"attribute_name": ..., "operator": "eq", "attribute_value": ...}`.',
        examples=[
            {
                "person_identifier": {"eq": "ABC451123"},
                "programme_identifier.program.programme_identifier": {"eq": "DCI001"},
            }
        ],
    )


class DciEnrolledRequestMessage(BaseModel):
    transaction_id: DciId
    enrolled_criteria: DciEnrolledCriteria


class DciEnrolledRequest(BaseModel):
    signature: DciText | None = None
    header: DciRequestHeader
    message: DciEnrolledRequestMessage


class DciResponseHeader(BaseModel):
    version: str = "1.0.0"
    message_id: str
    message_ts: datetime
    action: str
    status: Literal["rcvd", "pdng", "succ", "rjct"]
    status_reason_code: str | None = None
    status_reason_message: str | None = None
    total_count: int
    completed_count: int
    sender_id: str
    receiver_id: str | None = None
    is_msg_encrypted: bool = False


class DciProgramme(BaseModel):
    programme_identifier: str
    programme_name: str
    enrolment_status: str
    enrolment_date: date | None = None


class DciEnrolledItem(BaseModel):
    reference_id: str
    timestamp: datetime
    status: Literal["rcvd", "pdng", "succ", "rjct"]
    status_reason_code: str | None = None
    status_reason_message: str | None = None
    enrolled_status: Literal["yes", "no"] | None = None
    programmes: list[DciProgramme] = Field(
        [],
        description="Extension: the programmes (visible to the caller) the person "
        "is enrolled in.",
    )


class DciEnrolledResponseMessage(BaseModel):
    transaction_id: str
    correlation_id: str
    enrolled_response: list[DciEnrolledItem]


class DciEnrolledResponse(BaseModel):
    signature: str | None = None
    header: DciResponseHeader
    message: DciEnrolledResponseMessage
