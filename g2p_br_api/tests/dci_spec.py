# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Validation of the DCI answers against the spec, read from the copy of
``ibr_api_v1.0.0.yaml`` committed next to this file (see ``dci/NOTICE``).

The spec's ``/registry/sync/enrolled`` operation gives as ``default`` response
``#/components/schemas/EnrolledResponse``, the *message* part alone (a schema
where a response object is expected; the other sync operations of the same
document, e.g. ``/registry/sync/search``, answer the whole envelope
``{signature, header: MsgCallbackHeader_V1.0.0, message}``). The API answers
the envelope, like the other sync operations: the tests validate the envelope
with the spec's header schema, and its ``message`` with ``EnrolledResponse``.
"""

import functools
import os

import yaml
from openapi_schema_validator import OAS30Validator

SPEC_PATH = os.path.join(os.path.dirname(__file__), "dci", "ibr_api_v1.0.0.yaml")
SAMPLE_DIR = os.path.join(os.path.dirname(__file__), "dci")


@functools.cache
def spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _validator(schema):
    document = {"components": spec()["components"], **schema}
    return OAS30Validator(document)


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


@functools.cache
def _validators():
    enrolled_op = spec()["paths"]["/registry/sync/enrolled"]["post"]
    http_error = spec()["components"]["responses"]["HttpErrorResponse"]
    return {
        "envelope": _validator(
            {
                "type": "object",
                "properties": {
                    "signature": _ref("MsgSignature"),
                    "header": _ref("MsgCallbackHeader_V1.0.0"),
                    "message": _ref("EnrolledResponse"),
                },
                "required": ["header", "message"],
            }
        ),
        "message": _validator(enrolled_op["responses"]["default"]),
        "http_error": _validator(http_error["content"]["application/json"]["schema"]),
        "request": _validator(
            enrolled_op["requestBody"]["content"]["application/json"]["schema"]
        ),
    }


def _errors(name, instance):
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validators()[name].iter_errors(instance)
    ]


def enrolled_response_errors(body):
    """Deviations of an enrolled answer from the spec (empty when valid)."""
    errors = _errors("envelope", body) + _errors("message", body.get("message"))

    # OpenAPI 3.0 without `nullable`: no null anywhere in the answer
    def nulls(value, path):
        if value is None:
            yield path
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from nulls(item, f"{path}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from nulls(item, f"{path}/{index}")

    errors += [f"{path}: null" for path in nulls(body, "")]
    return errors


def http_error_errors(body):
    errors = _errors("http_error", body)
    if not body.get("errors") or not all(
        isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
        for e in body["errors"]
    ):
        errors.append("errors[] without code and message")
    return errors


def request_errors(body):
    return _errors("request", body)
