# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""DCI Integrated Beneficiary Registry (IBR) 1.0.0 envelope for the
``/registry/sync/enrolled`` query (spdci/standards, release/yaml/ibr_api_v1.0.0.yaml).

Responses follow the spec's schemas to the letter: OpenAPI 3.0 without
``nullable``, so a value the BR has not is omitted, never ``null``; status
reason codes only from the spec's enums (``MsgHeaderStatusReasonCode`` in the
header, ``SearchStatusReasonCode`` on the items).
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from .common import UtcDateTime, check_text

DciText = Annotated[str, StringConstraints(max_length=999), AfterValidator(check_text)]
DciId = Annotated[str, StringConstraints(max_length=99), AfterValidator(check_text)]
MAX_SEARCH_REQUESTS = 100

# spec: MsgHeaderStatusReasonCode
HeaderReasonCode = Literal[
    "rjct.version.invalid",
    "rjct.message_id.duplicate",
    "rjct.message_ts.invalid",
    "rjct.action.invalid",
    "rjct.action.not_supported",
    "rjct.total_count.invalid",
    "rjct.total_count.limit_exceeded",
    "rjct.errors.too_many",
]
# spec: SearchStatusReasonCode
ItemReasonCode = Literal[
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.search_criteria.invalid",
    "rjct.filter.invalid",
    "rjct.sort.invalid",
    "rjct.pagination.invalid",
    "rjct.search.too_many_records_found",
]
# spec: src/extensions/ibr/EnrollmentStatus.yaml
EnrollmentStatus = Literal["Active", "Deceased", "Graduated", "Suspended"]


class DciRequestHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: DciId = "1.0.0"
    message_id: DciId
    message_ts: UtcDateTime
    action: DciId = Field(description="`search` (the IBR spec) or `enrolled`")
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


class DciSearchRequestItem(BaseModel):
    """Extension: one query of a batch, in the shape of the spec's
    ``SearchRequest.search_request[]`` items."""

    reference_id: DciId
    timestamp: UtcDateTime | None = None
    search_criteria: DciEnrolledCriteria


class DciEnrolledRequestMessage(BaseModel):
    """The spec's ``EnrolledRequest`` (one ``enrolled_criteria``), or, as an
    extension, several queries in ``search_request`` (answered item by item,
    in order, each with its ``reference_id``)."""

    transaction_id: DciId
    enrolled_criteria: DciEnrolledCriteria | None = None
    search_request: (
        Annotated[
            list[DciSearchRequestItem],
            Field(min_length=1, max_length=MAX_SEARCH_REQUESTS),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.enrolled_criteria is None) == (self.search_request is None):
            raise ValueError(
                "give either enrolled_criteria or search_request (not both)"
            )
        return self


class DciEncryptedHeader(BaseModel):
    alg: DciText
    enc: DciText
    kid: DciText


class DciEncryptedMessage(BaseModel):
    """The spec's ``EncryptedMessage``: accepted, answered ``rjct`` (not
    supported by this registry)."""

    header: DciEncryptedHeader
    ciphertext: str
    encrypted_key: str
    tag: str
    iv: str


class DciEnrolledRequest(BaseModel):
    signature: DciText | None = None
    header: DciRequestHeader
    message: DciEnrolledRequestMessage | DciEncryptedMessage


class DciResponseHeader(BaseModel):
    version: str = "1.0.0"
    message_id: str
    message_ts: UtcDateTime
    action: str
    status: Literal["rcvd", "pdng", "succ", "rjct"]
    status_reason_code: HeaderReasonCode | None = Field(
        None, description="Only on rejection of the whole message; else omitted"
    )
    status_reason_message: str | None = Field(
        None, max_length=999, description="Omitted when there is none"
    )
    total_count: int
    completed_count: int
    sender_id: str
    receiver_id: str | None = None
    is_msg_encrypted: bool = False


class DciProgramme(BaseModel):
    programme_identifier: str
    programme_name: str
    enrolment_status: EnrollmentStatus = Field(
        description="DCI EnrollmentStatus: registry state `enrolled` -> Active, "
        "`paused` -> Suspended, `exited` -> Graduated (Deceased when the exit "
        "reason is `deceased`)"
    )
    enrolment_date: date | None = None
    registry_state: Literal["enrolled", "paused", "exited"] = Field(
        description="Extension: the membership state in this registry"
    )


class DciEnrolledItem(BaseModel):
    reference_id: str
    timestamp: UtcDateTime
    status: Literal["rcvd", "pdng", "succ", "rjct"]
    status_reason_code: ItemReasonCode | None = Field(
        None, description="On a rejected item only (spec: SearchStatusReasonCode)"
    )
    status_reason_message: str | None = Field(None, max_length=999)
    enrolled_status: Literal["yes", "no"] = Field(
        description="`yes` when the person is enrolled (Active) in a programme "
        "visible to the caller (the given one if any); always `no` on a "
        "rejected item"
    )
    programmes: list[DciProgramme] = Field(
        [],
        description="Extension: the programmes (visible to the caller) the person "
        "is or was a member of, with the DCI enrolment status.",
    )


class DciEnrolledResponseMessage(BaseModel):
    transaction_id: str
    correlation_id: str
    enrolled_response: list[DciEnrolledItem]


class DciEnrolledResponse(BaseModel):
    """The DCI envelope: ``header`` (spec ``MsgCallbackHeader_V1.0.0``) and
    ``message`` (spec ``EnrolledResponse``). Unsigned: no ``signature``."""

    header: DciResponseHeader
    message: DciEnrolledResponseMessage
