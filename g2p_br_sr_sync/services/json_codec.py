# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""JSON of the SR pages, with ``orjson`` when it is installed.

A page of 5,000 SR records is parsed from the SR's response and written back
as one JSON text for PostgreSQL: with the standard library that was about a
third of the Odoo process's CPU time in a full pull (py-spy, 1,000,000
registrants). ``orjson`` is optional: without it, or for a text it refuses
(not UTF-8, ``NaN``, integers beyond 64 bits), the standard library decides,
so the results and the errors are the same either way.
"""

import json
import math

try:
    import orjson
except ImportError:  # optional: the standard library does the same, slower
    orjson = None


def loads(data):
    """Parse JSON ``data`` (bytes in UTF-8, -16 or -32, or str);
    ``ValueError`` when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            # the standard parser accepts a few texts orjson refuses
            return json.loads(data)
    return json.loads(data)


def dumps(value, default):
    """JSON text of ``value``; ``default`` converts the values JSON has no type
    for; non-finite floats are refused (``ValueError``) by both encoders."""
    if orjson is None:
        return json.dumps(value, default=default, allow_nan=False)
    try:
        text = orjson.dumps(value, default=default).decode()
    except orjson.JSONEncodeError:
        # e.g. integers beyond 64 bits: the standard encoder decides
        return json.dumps(value, default=default, allow_nan=False)
    if "null" in text and _has_non_finite(value):
        return json.dumps(value, default=default, allow_nan=False)  # refuses
    return text


def _has_non_finite(value):
    """Whether ``value`` (lists and dicts of plain values) holds a NaN or an
    infinity, which orjson writes as ``null`` where JSON has no such number."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False
