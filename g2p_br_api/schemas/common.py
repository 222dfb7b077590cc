# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import binascii
import functools
import re
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# PostgreSQL OFFSET is a bigint; anything far beyond the data is just empty
MAX_OFFSET = 2_000_000_000


def check_text(value):
    """Reject strings PostgreSQL cannot store (NUL, lone surrogates)."""
    if value is None:
        return value
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("invalid unicode text") from exc
    return value


SafeText = Annotated[str, AfterValidator(check_text)]
# codes and identifiers
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(check_text)
]


def rfc3339(value):
    """A datetime (naive values are UTC, as Odoo stores them) or an ISO string
    as RFC 3339 with an explicit offset (``Z`` for UTC), whole seconds."""
    if value is None or value is False:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# Every date-time of a response: RFC 3339 with an offset (always UTC, "Z")
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 date-time, always in UTC (`Z`)",
            "examples": ["2026-11-20T10:00:00Z"],
        },
        mode="serialization",
    ),
]

# RFC 3339 date-time; the offset may be omitted (then the time is UTC).
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|z|[+-]\d{2}:\d{2})?$",
    re.ASCII,
)


def parse_utc_datetime(value):
    """Parse an ISO 8601 / RFC 3339 date-time *string* (no Unix numbers, no
    dates alone) to a naive UTC datetime; raises ``PydanticCustomError``."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type",
            "must be an ISO 8601 date-time string such as 2026-11-20T10:00:00Z",
        )
    text = value.strip()
    # the longest valid form is 2026-11-20T10:00:00.000000+00:00 (32)
    if len(text) > 32 or not _ISO_DATETIME.match(text):
        raise PydanticCustomError(
            "datetime_format",
            "must be an ISO 8601 date-time such as 2026-11-20T10:00:00Z",
        )
    return _parse_utc_text(text)


# A pure function of a valid text (32 characters at most: the cache holds a
# few hundred kB), so its answers are remembered: a payment provider's batch
# of 1,000 reports repeats its times (a settlement run, or the same second).
# Refusals raise, and lru_cache does not remember them.
@functools.lru_cache(maxsize=4096)
def _parse_utc_text(text):
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise PydanticCustomError(
            "datetime_out_of_range", "is not a valid or representable date-time"
        ) from exc
    return parsed


class Schema(BaseModel):
    """A response schema (validated from a mapping or from attributes)."""

    model_config = ConfigDict(from_attributes=True)


ItemT = TypeVar("ItemT")


class FeedPage(Schema, Generic[ItemT]):
    """A page: by offset, or of a change feed (``updated_since``/``cursor``)."""

    total: int | None = Field(
        description="Matching records; null in change-feed mode "
        "(`updated_since` or `cursor` given)"
    )
    limit: int
    offset: int
    items: list[ItemT]
    next_cursor: str | None = Field(
        None,
        description="Change-feed mode: give it as `cursor` for the changes after "
        "this page; null in offset mode",
    )
    has_more: bool | None = Field(
        None, description="Change-feed mode: more changes are available now"
    )


class ErrorItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"additionalProperties": True})

    code: str = Field(
        description="Machine-readable error code (see the API description)",
        examples=["not_found"],
    )
    message: str = Field(description="Human-readable message (English)")
    location: list[str | int] | None = Field(
        None,
        description="Where the error is, for request validation errors: "
        '`["query", "limit"]`, `["body", "items", 0, "status_time"]`. '
        "Omitted otherwise.",
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer of the API (also the DCI
    ``HttpErrorResponse``)."""

    errors: list[ErrorItem] = Field(min_length=1)


def encode_cursor(write_date, record_id):
    """Opaque keyset cursor: the (write_date, id) of the last row returned."""
    raw = f"{write_date.isoformat(timespec='microseconds')}|{record_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value):
    try:
        padded = value + "=" * (-len(value) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        when, record_id = raw.split("|")
        parsed = (datetime.fromisoformat(when), int(record_id))
        if parsed[0].tzinfo is not None or not 0 <= parsed[1] < 2**31:
            raise ValueError(raw)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise PydanticCustomError(
            "cursor_invalid", "is not a cursor given by this API"
        ) from exc
    return parsed


def parse_updated_since(value):
    """``updated_since``: an ISO 8601 date-time string, as ``status_time``."""
    return parse_utc_datetime(value)
