# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Turn raw Social Registry records into the few values the BR stores.

A mapping is a list of :class:`MappingRule` (one per mapping line): a source
path in the SR record, a target BR field and a transform. :class:`RecordMapper`
extracts the mapped values of one record, applies the transforms and validates
the result with a pydantic model built from the targets' types. Nothing else of
the record is kept, and error reasons never quote record values: an error
message may end up in the database and in logs, record values must not.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import ConfigDict, ValidationError, create_model

TRANSFORMS = ("none", "date", "datetime", "int", "float", "lower", "bool", "value_map")

# a[key=value] | a[0] | a
_SEGMENT_RE = re.compile(r"^(?P<name>[^\[\]]*)(?P<selectors>(\[[^\[\]]*\])*)$")
_SELECTOR_RE = re.compile(r"\[([^\[\]]*)\]")

_MISSING = object()


class MappingError(ValueError):
    """A mapping definition (path, value map) is invalid."""


class RecordError(ValueError):
    """A record cannot be mapped; the message never contains record values."""


@dataclass(frozen=True)
class PathSegment:
    name: str
    selectors: tuple = ()  # each: ("index", int) or ("match", key, value)


def parse_path(path):
    """Parse ``identifier[identifier_type=UIN].identifier_value`` into segments.

    Segments are separated by dots outside brackets; a segment is a key
    followed by zero or more selectors: ``[n]`` (list index, may be negative)
    or ``[key=value]`` (first list item whose ``key`` equals ``value``).
    """
    if not path or not path.strip():
        raise MappingError("empty source path")
    parts, depth, current = [], 0, ""
    for char in path.strip():
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise MappingError(f"unbalanced brackets in {path!r}")
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise MappingError(f"unbalanced brackets in {path!r}")
    parts.append(current)
    segments = []
    for part in parts:
        match = _SEGMENT_RE.match(part.strip())
        if not match or (not match["name"] and not match["selectors"]):
            raise MappingError(f"invalid segment {part!r} in {path!r}")
        selectors = []
        for raw in _SELECTOR_RE.findall(match["selectors"] or ""):
            raw = raw.strip()
            if "=" in raw:
                key, value = (s.strip() for s in raw.split("=", 1))
                if not key:
                    raise MappingError(f"invalid selector [{raw}] in {path!r}")
                selectors.append(("match", key, value))
            else:
                try:
                    selectors.append(("index", int(raw)))
                except ValueError as exc:
                    raise MappingError(f"invalid selector [{raw}] in {path!r}") from exc
        segments.append(PathSegment(match["name"].strip(), tuple(selectors)))
    return tuple(segments)


def extract(record, segments):
    """Value at ``segments`` in ``record``, or ``_MISSING``."""
    value = record
    for segment in segments:
        if segment.name:
            if not isinstance(value, dict) or segment.name not in value:
                return _MISSING
            value = value[segment.name]
        for selector in segment.selectors:
            if not isinstance(value, list):
                return _MISSING
            if selector[0] == "index":
                try:
                    value = value[selector[1]]
                except IndexError:
                    return _MISSING
            else:
                _kind, key, expected = selector
                value = next(
                    (
                        item
                        for item in value
                        if isinstance(item, dict) and str(item.get(key)) == expected
                    ),
                    _MISSING,
                )
                if value is _MISSING:
                    return _MISSING
    return value


def parse_value_map(text):
    """``source = target`` lines (``#`` comments, ``*`` as default key)."""
    result = {}
    for lineno, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise MappingError(f"value map line {lineno}: expected 'source = target'")
        key, value = (s.strip() for s in line.split("=", 1))
        result[key] = value
    return result


def _to_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError as exc:
            raise RecordError("not an ISO date") from exc
    raise RecordError("not a date")


def _to_datetime(value):
    """Naive UTC datetime (what Odoo stores) from an ISO 8601 string."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            result = datetime.fromisoformat(text)
        except ValueError as exc:
            raise RecordError("not an ISO datetime") from exc
    else:
        raise RecordError("not a datetime")
    if result.tzinfo:
        result = result.astimezone(UTC).replace(tzinfo=None)
    return result


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "y", "t", "active"):
            return True
        if text in ("0", "false", "no", "n", "f", "inactive", ""):
            return False
    raise RecordError("not a boolean")


def _to_number(value, kind):
    if isinstance(value, bool):
        raise RecordError(f"not {'an integer' if kind is int else 'a number'}")
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        return float(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"not {'an integer' if kind is int else 'a number'}") from exc


@dataclass(frozen=True)
class MappingRule:
    """One mapping line, in plain Python (no ORM)."""

    source_path: str
    target: str  # BR field name, or "identifier"
    transform: str = "none"
    value_map: str = ""
    required: bool = False
    # identifier type code when target is "identifier"
    identifier_type: str | None = None
    segments: tuple = field(default=(), compare=False)
    mapping: dict = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, **kwargs):
        rule = cls(**kwargs)
        if rule.transform not in TRANSFORMS:
            raise MappingError(f"unknown transform {rule.transform!r}")
        object.__setattr__(rule, "segments", parse_path(rule.source_path))
        if rule.transform == "value_map":
            object.__setattr__(rule, "mapping", parse_value_map(rule.value_map))
            if not rule.mapping:
                raise MappingError("the value map is empty")
        return rule

    @property
    def key(self):
        if self.target == "identifier":
            return f"identifier:{self.identifier_type}"
        return self.target

    def apply(self, value):
        transform = self.transform
        if value is None or transform == "none":
            return value
        if transform == "date":
            return _to_date(value)
        if transform == "datetime":
            return _to_datetime(value)
        if transform == "int":
            return _to_number(value, int)
        if transform == "float":
            return _to_number(value, float)
        if transform == "bool":
            return _to_bool(value)
        if transform == "lower":
            if not isinstance(value, str):
                raise RecordError("not a string")
            return value.strip().lower()
        # value_map: exact match, then case-insensitive, then the default
        text = str(value).strip() if not isinstance(value, bool) else str(value).lower()
        if text in self.mapping:
            return self.mapping[text]
        lowered = {k.lower(): v for k, v in self.mapping.items()}
        if text.lower() in lowered:
            return lowered[text.lower()]
        if "*" in self.mapping:
            return self.mapping["*"]
        raise RecordError("value not in the value map")


# Python types of the BR fields a mapping may write, by Odoo field type
_TYPES = {
    "char": str,
    "date": date,
    "datetime": datetime,
    "integer": int,
    "float": float,
    "boolean": bool,
}


def build_record_model(targets):
    """Pydantic model of one mapped record.

    :param targets: ``{key: (odoo_type, selection_values or None, required)}``
    """
    definitions = {}
    for key, (odoo_type, selection, required) in targets.items():
        if odoo_type == "selection":
            py_type = Literal[tuple(selection)]
        else:
            py_type = _TYPES[odoo_type]
        if required:
            definitions[key] = (py_type, ...)
        else:
            definitions[key] = (py_type | None, None)
    return create_model(
        "SrMappedRecord",
        __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
        **{_field_name(k): v for k, v in definitions.items()},
    )


def _field_name(key):
    # pydantic field names must be identifiers; identifier keys contain ':'
    return re.sub(r"\W", "__", key)


def format_validation_error(exc):
    """Reasons of a pydantic ValidationError without the offending values."""
    reasons = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error.get("loc", ())) or "record"
        reasons.append(f"{location.replace('__', ':')}: {error.get('msg')}")
    return "; ".join(reasons)


class RecordMapper:
    """Map and validate SR records with a list of :class:`MappingRule`.

    :param rules: the mapping rules; exactly one must target ``sr_id``
    :param target_types: ``{target: (odoo_type, selection_values or None)}``
        for every non-identifier target used by the rules
    """

    def __init__(self, rules, target_types):
        self.rules = list(rules)
        if sum(1 for r in self.rules if r.target == "sr_id") != 1:
            raise MappingError("exactly one mapping line must target the SR id")
        targets = {}
        for rule in self.rules:
            if rule.target == "identifier":
                targets[rule.key] = ("char", None, rule.required)
            else:
                odoo_type, selection = target_types[rule.target]
                required = rule.required or rule.target == "sr_id"
                targets[rule.key] = (odoo_type, selection, required)
        self.keys = list(targets)
        self._names = {key: _field_name(key) for key in self.keys}
        self.model = build_record_model(targets)

    def map_record(self, record):
        """Return ``{key: value}`` of the mapped, validated values.

        :raises RecordError: with a reason that names fields, never values
        """
        if not isinstance(record, dict):
            raise RecordError("record is not a JSON object")
        values, reasons = {}, []
        for rule in self.rules:
            raw = extract(record, rule.segments)
            if raw is _MISSING or raw == "" or raw is None:
                continue  # absent: "Field required" if required, else None
            try:
                values[self._names[rule.key]] = rule.apply(raw)
            except RecordError as exc:
                reasons.append(f"{rule.key}: {exc}")
        if reasons:
            raise RecordError("; ".join(reasons))
        try:
            validated = self.model.model_validate(values)
        except ValidationError as exc:
            raise RecordError(format_validation_error(exc)) from None
        return {key: getattr(validated, self._names[key]) for key in self.keys}

    def sr_id_of(self, record):
        """Best-effort SR id of a (possibly malformed) record, for error reports."""
        rule = next(r for r in self.rules if r.target == "sr_id")
        if isinstance(record, dict):
            value = extract(record, rule.segments)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)[:64]
        return None
