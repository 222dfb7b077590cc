from typing import Annotated

from pydantic import AfterValidator, StringConstraints

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
