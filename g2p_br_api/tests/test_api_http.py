# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End-to-end tests over real HTTP against the running test server:
authentication and the access matrix of /api/br/v1."""

import json
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from . import dci_spec
from .common import API_ROOT, BrApiHttpCase


@tagged("post_install", "-at_install")
class TestBrApiHttp(BrApiHttpCase):
    prefix = "H"

    def call(self, path, client="reader", payload=None, headers=None, scheme="bearer"):
        if headers is None:
            headers = self.headers(client, scheme) if client else {}
        data = None
        if payload is not None:
            data = json.dumps(payload)
            headers = dict(headers, **{"Content-Type": "application/json"})
        with self.assertNoLogs("odoo.http", "ERROR"):
            response = self.url_open(API_ROOT + path, data=data, headers=headers)
        self.assertEqual(
            response.headers["Content-Type"].split(";")[0], "application/json", path
        )
        self.assertNotIn("Traceback", response.text)
        return response

    def test_openapi_and_docs_served(self):
        response = self.url_open(f"{API_ROOT}/openapi.json")
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "/beneficiaries/{id_type}/{id_value}/entitlements", response.json()["paths"]
        )
        response = self.url_open(f"{API_ROOT}/docs")
        self.assertEqual(response.status_code, 200)
        self.assertIn("swagger", response.text.lower())

    def test_authentication(self):
        self.assertEqual(self.call("/programs").status_code, 200)
        self.assertEqual(self.call("/programs", scheme="x-api-key").status_code, 200)
        for headers in (
            {},
            {"Authorization": "Bearer brk_00000000_" + "x" * 43},
            {"X-API-Key": self.keys["reader"] + "x"},
            self.headers("expired"),
            self.headers("revoked"),
        ):
            with self.subTest(headers=headers):
                response = self.call("/programs", headers=headers)
                self.assertEqual(response.status_code, 401)
                self.assertEqual(
                    response.json()["errors"][0]["code"],
                    "missing_api_key" if not headers else "invalid_api_key",
                )

    def test_access_matrix(self):
        member_a = self.members_a[0]
        member_b = self.members_b[0]
        nid_b = member_b.identifier_ids[0].value
        ref_b = self.disbursements_b[0].reference
        paths_a = [
            f"/beneficiaries/sr/{member_a.sr_id}",
            f"/beneficiaries/sr/{member_a.sr_id}/enrollments",
            f"/beneficiaries/sr/{member_a.sr_id}/entitlements",
            "/programs/H-A",
            "/programs/H-A/enrollments",
            "/programs/H-A/cycles",
            f"/disbursements/{self.disbursements_a[0].reference}",
            "/disbursements?program=H-A",
        ]
        paths_b = [
            f"/beneficiaries/sr/{member_b.sr_id}",
            f"/beneficiaries/NID/{nid_b}",
            f"/beneficiaries/sr/{member_b.sr_id}/enrollments",
            f"/beneficiaries/sr/{member_b.sr_id}/entitlements",
            f"/beneficiaries/NID/{nid_b}/entitlements",
            "/programs/H-B",
            "/programs/H-B/enrollments",
            "/programs/H-B/cycles",
            f"/disbursements/{ref_b}",
            "/disbursements?program=H-B",
        ]
        for client, expected_b in (("reader", 404), ("writer", 404), ("all", 200)):
            for path in paths_a:
                with self.subTest(client=client, path=path):
                    self.assertEqual(self.call(path, client).status_code, 200)
            for path in paths_b:
                with self.subTest(client=client, path=path):
                    response = self.call(path, client)
                    self.assertEqual(response.status_code, expected_b)
                    if expected_b == 404:
                        # the same answer as for something that does not exist
                        missing = (
                            path.replace("H-B", "NOPE")
                            .replace(member_b.sr_id, "NOBODY")
                            .replace(nid_b, "NOBODY")
                            .replace(ref_b, "NOREF")
                        )
                        self.assertEqual(
                            response.content, self.call(missing, client).content
                        )
                        self.assertEqual(
                            response.json()["errors"][0]["code"], "not_found"
                        )
        programs = self.call("/programs", "reader").json()
        self.assertEqual([p["code"] for p in programs["items"]], ["H-A"])
        entitlements = self.call(
            f"/beneficiaries/sr/{member_b.sr_id}/entitlements", "all"
        ).json()
        self.assertEqual({e["program"] for e in entitlements["items"]}, {"H-B"})

    def test_disbursement_status_write_access(self):
        item = {
            "reference": self.disbursements_a[0].reference,
            "status": "sent",
            "status_time": fields.Datetime.now().isoformat() + "Z",
        }
        response = self.call("/disbursements/status", "reader", {"items": [item]})
        self.assertEqual(response.status_code, 403)
        response = self.call("/disbursements/status", "writer", {"items": [item]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["results"][0]["result"], "applied")
        # program B's disbursement: invisible to the writer limited to A
        item_b = dict(item, reference=self.disbursements_b[0].reference)
        response = self.call("/disbursements/status", "writer", {"items": [item_b]})
        self.assertEqual(response.json()["results"][0]["code"], "not_found")
        logs = self.env["g2p.br.api.call.log"].search(
            [("client_id", "in", (self.clients["reader"] | self.clients["writer"]).ids)]
        )
        self.assertEqual(sorted(logs.mapped("outcome")), ["failed", "forbidden", "ok"])

    def test_client_errors_are_json(self):
        self.assertEqual(self.call("/programs?limit=1001").status_code, 422)
        self.assertEqual(self.call("/programs?foo=bar").status_code, 422)
        self.assertEqual(self.call("/nowhere").status_code, 404)
        # regressions found by the fuzz: control characters in the path (did
        # not match the mount: Odoo's HTML page, or an error log), and a
        # malformed Accept-Language (500 in odoo.addons.fastapi)
        self.assertEqual(self.call("/beneficiaries/%0A%25s/x").status_code, 404)
        self.assertEqual(self.call("/programs/%0A").status_code, 404)
        headers = dict(self.headers("reader"), **{"Accept-Language": "fr;q=abc"})
        self.assertEqual(self.call("/programs", headers=headers).status_code, 200)
        response = self.url_open(
            f"{API_ROOT}/disbursements/status",
            data="{oops",
            headers=dict(
                self.headers("writer"), **{"Content-Type": "application/json"}
            ),
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["errors"][0]["code"], "json_invalid")

    def test_status_time_out_of_range_is_422_and_logged(self):
        """Was a 500 (OverflowError), rolled back: the call vanished from the log."""
        for status_time in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
            with self.subTest(status_time=status_time):
                item = {
                    "reference": self.disbursements_a[0].reference,
                    "status": "sent",
                    "status_time": status_time,
                }
                response = self.call(
                    "/disbursements/status", "writer", {"items": [item]}
                )
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(
                    response.json()["errors"][0]["code"], "datetime_out_of_range"
                )
        logs = self.env["g2p.br.api.call.log"].search(
            [("client_id", "=", self.clients["writer"].id), ("status_code", "=", 422)]
        )
        self.assertEqual(len(logs), 2)

    def test_unreadable_bodies_are_422(self):
        headers = dict(self.headers("writer"), **{"Content-Type": "application/json"})
        for data, code in (
            ('{"items": ["\u00e9"]}'.encode("latin-1"), "body_not_utf8"),
            (b"[" * 5000 + b"]" * 5000, "json_too_deep"),
        ):
            with self.subTest(code=code), self.assertNoLogs("odoo.http", "ERROR"):
                response = self.url_open(
                    f"{API_ROOT}/disbursements/status", data=data, headers=headers
                )
                self.assertEqual(response.status_code, 422, response.text)
                self.assertEqual(response.json()["errors"][0]["code"], code)

    def test_call_log_not_writable_over_rpc(self):
        """Issue #9: no public method writes the API call log. A plain internal
        user (no BR group) calls the service over JSON-RPC: refused, nothing
        logged."""
        user = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "H plain",
                    "login": "h_plain",
                    "password": "h_plain_pw_1234",
                    "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
                }
            )
        )
        self.authenticate(user.login, "h_plain_pw_1234")
        Log = self.env["g2p.br.api.call.log"]
        before = Log.search_count([])
        client_id = self.clients["writer"].id
        for method, args in (
            ("log_forbidden_call", ["/disbursements/status", 1]),
            ("_log_forbidden_call", ["/disbursements/status", 1]),
            ("_log_write_call", ["/x", {"status_code": 200}]),
            ("disbursement_status_updates", ["/x", []]),
            ("_apply_status_report", ["/x", []]),
        ):
            with (
                self.subTest(method=method),
                self.assertRaises(JsonRpcException) as caught,
                mute_logger("odoo.http"),
            ):
                self.make_jsonrpc_request(
                    "/web/dataset/call_kw",
                    {
                        "model": "g2p.br.api.service",
                        "method": method,
                        "args": args,
                        "kwargs": {"context": {"br_api_client_id": client_id}},
                    },
                )
            self.assertIn(
                str(caught.exception),
                ("odoo.exceptions.AccessError", "builtins.AttributeError"),
            )
        self.assertEqual(Log.search_count([]), before)

    def test_dci_errors_over_http(self):
        """401 and 500 on the DCI routes: the spec's HttpErrorResponse."""
        envelope = {
            "header": {
                "message_id": "m1",
                "message_ts": "2026-11-25T10:00:00Z",
                "action": "search",
                "sender_id": "sp",
                "total_count": 1,
            },
            "message": {
                "transaction_id": "t1",
                "enrolled_criteria": {"query": {"person_identifier": {"eq": "x"}}},
            },
        }
        for path in ("/registry/sync/enrolled", "/dci/ibr/sync/enrolled"):
            response = self.call(path, client=None, payload=envelope)
            self.assertEqual(response.status_code, 401)
            self.assertEqual(dci_spec.http_error_errors(response.json()), [])
            response = self.call(path, payload=envelope)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(dci_spec.enrolled_response_errors(response.json()), [])
        Service = type(self.env["g2p.br.api.service"])
        with (
            patch.object(Service, "dci_enrolled", side_effect=RuntimeError("boom")),
            mute_logger("odoo.http"),
        ):
            response = self.url_open(
                f"{API_ROOT}/registry/sync/enrolled",
                data=json.dumps(envelope),
                headers=dict(
                    self.headers("reader"), **{"Content-Type": "application/json"}
                ),
            )
        self.assertEqual(response.status_code, 500)
        body = response.json()
        self.assertEqual(dci_spec.http_error_errors(body), [])
        self.assertEqual(
            body,
            {
                "errors": [
                    {"code": "internal_error", "message": "Internal Server Error"}
                ]
            },
        )
        self.assertNotIn("boom", response.text)

    def test_integrator_reads_over_http(self):
        """Bulk lookup, identifiers with '/' in the query string, the
        disbursement feed with its cursor, and the read audit trail, through a
        real server."""
        member = self.members_a[0]
        member.identifier_ids[0].value = "H/NID/0001"
        response = self.call("/beneficiaries?id_type=NID&id_value=H%2FNID%2F0001")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["sr_id"], member.sr_id)
        payload = {
            "identifiers": [
                {"type": "NID", "value": "H/NID/0001"},
                {"type": "sr", "value": self.members_b[0].sr_id},
            ]
        }
        response = self.call("/beneficiaries/enrollments", payload=payload)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            [r["found"] for r in response.json()["results"]], [True, False]
        )
        references, cursor = [], None
        for _page in range(10):
            path = "/disbursements?limit=1" + (f"&cursor={cursor}" if cursor else "")
            body = self.call(path).json()
            references += [d["reference"] for d in body["items"]]
            cursor = body["next_cursor"]
            if not body["has_more"]:
                break
        self.assertEqual(
            sorted(references), sorted(self.disbursements_a.mapped("reference"))
        )
        reads = self.env["g2p.br.api.read.log"].search(
            [("client_id", "=", self.clients["reader"].id)]
        )
        self.assertIn(member, reads.beneficiary_id)
        self.assertNotIn(self.members_b[0], reads.beneficiary_id)
        self.assertIn("/beneficiaries/enrollments", reads.mapped("endpoint"))
