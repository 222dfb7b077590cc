# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Schema-driven fuzz of every operation of /api/br/v1 with schemathesis,
against the OpenAPI document served by the running test server (loopback):
valid and invalid inputs, none may get a 5xx or a non-JSON answer."""

import logging
import os
from collections import Counter

from odoo.tests import tagged

from .common import API_ROOT, BrApiHttpCase

# optional: test-requirements.txt installs them; without them the test skips
try:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
except ImportError:  # pragma: no cover
    schemathesis = None

_logger = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("BR_API_FUZZ_EXAMPLES", "25"))


def document_operations(document):
    return [
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
    ]


@tagged("post_install", "-at_install")
class TestBrApiFuzz(BrApiHttpCase):
    prefix = "F"

    def test_fuzz_every_operation(self):
        if schemathesis is None:
            self.skipTest("schemathesis is not installed")
        document = self.url_open(f"{API_ROOT}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        base_url = self.base_url() + API_ROOT
        headers = self.headers("all")
        failures = []
        calls = []
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertEqual(len(operations), len(document_operations(document)))
        # real bugs would be logged by odoo.http with their traceback
        with self.assertNoLogs("odoo.http", "ERROR"):
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    self._fuzzer(operation, mode, base_url, headers, calls, failures)()
        _logger.info(
            "BR API fuzz: %s calls over %s operations, status codes %s",
            len(calls),
            len(operations),
            dict(sorted(Counter(calls).items())),
        )
        self.assertFalse(failures, "\n".join(map(str, failures[:20])))
        self.assertGreater(len(calls), len(operations) * 2)

    def _fuzzer(self, operation, mode, base_url, headers, calls, failures):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            calls.append(response.status_code)
            headers_ = {k.lower(): v for k, v in response.headers.items()}
            content_type = headers_.get("content-type") or ""
            if isinstance(content_type, list):
                content_type = ",".join(content_type)
            if response.status_code >= 500 or "json" not in content_type:
                failures.append(
                    (
                        operation.label,
                        mode.value,
                        response.status_code,
                        case.formatted_path,
                        case.query,
                        str(case.body)[:200],
                        response.text[:300],
                    )
                )

        return run
