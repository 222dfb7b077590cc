# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Router tests: every endpoint, filter, pagination edge and error code, through
the app of the ``/api/br/v1`` endpoint record (its real authentication)."""

import json
import time
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..routers import ALL_ROUTERS
from ..schemas import StatusUpdateResponse
from . import dci_spec
from .common import BrApiRouterCase


@tagged("post_install", "-at_install")
class TestBrApiRouters(BrApiRouterCase):
    post_client = "writer"

    def assertStatus(self, response, code):
        body = super().assertStatus(response, code)
        self.assertEqual(response.headers["content-type"], "application/json")
        return body

    def test_app_overrides_no_dependency(self):
        # with any override, FastAPI builds every dependency of a route again
        # on every request
        app = self.endpoint._get_app()
        self.assertEqual(app.dependency_overrides, {})
        # and no route needs the one odoo.addons.fastapi set for the endpoint
        from odoo.addons.fastapi import dependencies as oca

        def calls(dependant):
            for sub in dependant.dependencies:
                yield sub.call
                yield from calls(sub)

        used = {
            call
            for router in ALL_ROUTERS
            for route in router.routes
            for call in calls(route.dependant)
        }
        self.assertIn(oca.odoo_env, used)
        self.assertFalse(used & {oca.fastapi_endpoint_id, oca.fastapi_endpoint})

    # ------------------------------------------------------------------
    # authentication
    # ------------------------------------------------------------------
    def test_auth_bearer_and_x_api_key(self):
        self.assertStatus(self.get("/programs"), 200)
        self.assertStatus(
            self.client.get("/programs", headers=self.headers(scheme="x-api-key")),
            200,
        )

    def test_auth_rejections(self):
        valid = self.keys["reader"]
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": f"Bearer {valid[:-1]}x"},
            {"Authorization": f"Bearer {valid[:-2]}"},
            {"X-API-Key": "brk_00000000_" + "a" * 40},
            self.headers("expired"),
            self.headers("revoked"),
        ):
            with self.subTest(headers=headers):
                response = self.client.get("/programs", headers=headers)
                body = self.assertStatus(response, 401)
                self.assertEqual(
                    body["errors"][0]["code"],
                    "missing_api_key"
                    if not headers
                    or headers == {"Authorization": "Bearer"}
                    or headers.get("Authorization", "").startswith("Basic")
                    else "invalid_api_key",
                )
                self.assertIn("Bearer", response.headers["www-authenticate"])

    def test_auth_archived_user(self):
        self.users["reader"].active = False
        self.assertStatus(self.get("/programs"), 401)

    def test_auth_rotated_key(self):
        old = self.keys["reader"]
        self.clients["reader"].action_generate_key()
        response = self.client.get(
            "/programs", headers={"Authorization": f"Bearer {old}"}
        )
        self.assertStatus(response, 401)

    def test_auth_updates_last_used(self):
        from ..models.g2p_br_api_client import _LAST_TOUCH

        _LAST_TOUCH.clear()
        self.clients["reader"].last_used_at = False
        self.get("/programs")
        self.clients["reader"].invalidate_recordset()
        self.assertTrue(self.clients["reader"].last_used_at)

    def test_auth_does_not_wait_for_a_concurrent_last_use(self):
        """Another request of the same client holds its row: skip, no wait."""
        # a committed client is needed: the demo one
        client = self.env.ref("g2p_br_api.api_client_demo", raise_if_not_found=False)
        if not client:
            self.skipTest("needs the demo data")
        before = client.last_used_at
        with self.registry.cursor() as other:
            other.execute(
                "SELECT id FROM g2p_br_api_client WHERE id = %s FOR UPDATE",
                (client.id,),
            )
            start = time.monotonic()
            client._touch_last_used(fields.Datetime.now())
            self.assertLess(time.monotonic() - start, 2)
            self.assertEqual(client.last_used_at, before)
            other.rollback()
        # the transaction goes on
        key = "brk_d3e0a1b2_demo-key-for-local-testing-only-0000"
        found = self.env["g2p.br.api.client"]._authenticate_key(key)
        self.assertEqual(found[:2], (client.id, client.user_id.id))

    def test_key_stored_hashed(self):
        client = self.clients["reader"]
        key = self.keys["reader"]
        self.assertTrue(key.startswith(f"brk_{client.key_prefix}_"))
        secret = key.split("_", 2)[2]
        self.env.cr.execute(
            "SELECT key_hash, key_salt FROM g2p_br_api_client WHERE id = %s",
            (client.id,),
        )
        key_hash, salt = self.env.cr.fetchone()
        self.assertNotIn(secret, key_hash + salt)
        action = client.action_generate_key()
        self.assertEqual(action["res_model"], "g2p.br.api.client.key.show")
        self.assertTrue(action["context"]["default_key"].startswith("brk_"))

    # ------------------------------------------------------------------
    # programs
    # ------------------------------------------------------------------
    def test_programs_list_visible_only(self):
        body = self.assertStatus(self.get("/programs"), 200)
        self.assertEqual(body["total"], 1)
        self.assertEqual([p["code"] for p in body["items"]], ["T-A"])
        self.assertEqual(body["items"][0]["currency"], self.program_a.currency_id.name)
        body = self.assertStatus(self.get("/programs", client="all"), 200)
        codes = {p["code"] for p in body["items"]}
        self.assertTrue({"T-A", "T-B"} <= codes)

    def test_programs_state_filter(self):
        body = self.assertStatus(self.get("/programs", params={"state": "active"}), 200)
        self.assertEqual(body["total"], 1)
        body = self.assertStatus(self.get("/programs", params={"state": "ended"}), 200)
        self.assertEqual(body, {"total": 0, "limit": 50, "offset": 0, "items": []})
        self.assertStatus(self.get("/programs", params={"state": "bogus"}), 422)

    def test_programs_pagination(self):
        codes = sorted(
            self.env["g2p.br.program"]
            .search([("user_ids", "in", self.users["all"].id)])
            .mapped("code")
        )
        body = self.assertStatus(
            self.get("/programs", client="all", params={"limit": 1, "offset": 1}), 200
        )
        self.assertEqual(body["total"], len(codes))
        self.assertEqual([p["code"] for p in body["items"]], codes[1:2])
        # limit 0 only counts
        body = self.assertStatus(
            self.get("/programs", client="all", params={"limit": 0}), 200
        )
        self.assertEqual((body["total"], body["items"]), (len(codes), []))
        # offset past the end
        body = self.assertStatus(
            self.get("/programs", client="all", params={"offset": 1000}), 200
        )
        self.assertEqual((body["total"], body["items"]), (len(codes), []))
        body = self.assertStatus(self.get("/programs", params={"limit": 1000}), 200)
        self.assertEqual(body["limit"], 1000)
        for params in (
            {"limit": 1001},
            {"limit": -1},
            {"offset": -1},
            {"offset": 10**12},
            {"limit": "ten"},
        ):
            with self.subTest(params=params):
                body = self.assertStatus(self.get("/programs", params=params), 422)
                self.assertEqual(body["errors"][0]["location"][0], "query")

    def test_unknown_query_parameter(self):
        body = self.assertStatus(self.get("/programs", params={"stat": "active"}), 422)
        self.assertEqual(body["errors"][0]["location"], ["query", "stat"])
        self.assertEqual(body["errors"][0]["code"], "extra_forbidden")
        self.assertStatus(
            self.get(f"/beneficiaries/sr/{self.members_a[0].sr_id}", params={"x": 1}),
            422,
        )

    def test_program_detail(self):
        body = self.assertStatus(self.get("/programs/T-A"), 200)
        self.assertEqual(body["code"], "T-A")
        self.assertEqual(body["description"], "Demo cash program A")
        self.assertEqual(body["totals"]["members"], {"enrolled": 2})
        self.assertEqual(body["totals"]["entitled"], 100.0)
        self.assertEqual(body["totals"]["disbursed"], 0.0)

    def test_program_not_visible_is_404(self):
        for path in (
            "/programs/T-B",
            "/programs/T-B/enrollments",
            "/programs/T-B/cycles",
            "/programs/NOPE",
        ):
            with self.subTest(path=path):
                body = self.assertStatus(self.get(path), 404)
                self.assertEqual(
                    body,
                    {"errors": [{"code": "not_found", "message": "Program not found"}]},
                )

    def test_program_enrollments(self):
        body = self.assertStatus(self.get("/programs/T-A/enrollments"), 200)
        self.assertEqual(body["total"], 2)
        self.assertEqual(
            {e["sr_id"] for e in body["items"]}, set(self.members_a.mapped("sr_id"))
        )
        self.assertTrue(all(e["state"] == "enrolled" for e in body["items"]))
        body = self.assertStatus(
            self.get("/programs/T-A/enrollments", params={"state": "exited"}), 200
        )
        self.assertEqual(body["total"], 0)
        body = self.assertStatus(
            self.get("/programs/T-A/enrollments", params={"limit": 1, "offset": 1}),
            200,
        )
        self.assertEqual((body["total"], len(body["items"])), (2, 1))
        body = self.assertStatus(
            self.get("/programs/T-A/enrollments", params={"offset": 2}), 200
        )
        self.assertEqual((body["total"], body["items"]), (2, []))
        self.assertStatus(
            self.get("/programs/T-A/enrollments", params={"limit": 5000}), 422
        )

    def test_program_cycles(self):
        body = self.assertStatus(self.get("/programs/T-A/cycles"), 200)
        self.assertEqual(body["total"], 1)
        cycle = body["items"][0]
        self.assertEqual(cycle["id"], self.cycle_a.id)
        self.assertEqual(cycle["state"], self.cycle_a.state)
        self.assertEqual(cycle["totals"]["entitled"], 100.0)
        body = self.assertStatus(
            self.get("/programs/T-A/cycles", params={"state": "draft"}), 200
        )
        self.assertEqual(body["total"], 0)
        body = self.assertStatus(
            self.get("/programs/T-A/cycles", params={"limit": 0}), 200
        )
        self.assertEqual((body["total"], body["items"]), (1, []))

    # ------------------------------------------------------------------
    # beneficiaries
    # ------------------------------------------------------------------
    def test_beneficiary_by_sr_id_and_identifier(self):
        member = self.members_a[0]
        nid = member.identifier_ids[0].value
        for path in (f"/beneficiaries/sr/{member.sr_id}", f"/beneficiaries/NID/{nid}"):
            with self.subTest(path=path):
                body = self.assertStatus(self.get(path), 200)
                self.assertEqual(body["sr_id"], member.sr_id)
                self.assertEqual(body["kind"], "individual")
                self.assertEqual(body["identifiers"], [{"type": "NID", "value": nid}])
                self.assertEqual([e["program"] for e in body["enrollments"]], ["T-A"])
                self.assertEqual(body["entitlements"]["total"], 1)
                self.assertEqual(body["entitlements"]["by_state"], {"approved": 1})
                # the household is not a member of the client's programs
                self.assertIsNone(body["household_sr_id"])
                self.assertEqual(body["birth_date"], "1981-01-01")

    def test_beneficiary_household_visible_to_managers(self):
        self.users["reader"].groups_id |= self.env.ref(
            "g2p_beneficiary_registry.group_br_manager"
        )
        body = self.assertStatus(
            self.get(f"/beneficiaries/sr/{self.members_a[0].sr_id}"), 200
        )
        self.assertEqual(body["household_sr_id"], "T-SR-HH-1")
        body = self.assertStatus(self.get("/beneficiaries/sr/T-SR-HH-1"), 200)
        self.assertEqual((body["kind"], body["group_size"]), ("group", 3))

    def test_beneficiary_not_found_or_not_visible(self):
        other = self.members_b[0]
        for path in (
            f"/beneficiaries/sr/{other.sr_id}",
            f"/beneficiaries/sr/{other.sr_id}/enrollments",
            f"/beneficiaries/sr/{other.sr_id}/entitlements",
            f"/beneficiaries/NID/{other.identifier_ids[0].value}",
            "/beneficiaries/sr/NOBODY",
            f"/beneficiaries/NOTYPE/{self.members_a[0].sr_id}",
            "/beneficiaries/sr/T-SR-HH-1",
        ):
            with self.subTest(path=path):
                body = self.assertStatus(self.get(path), 404)
                self.assertEqual(
                    body,
                    {
                        "errors": [
                            {"code": "not_found", "message": "Beneficiary not found"}
                        ]
                    },
                )
        # visible to a client assigned to both programs
        self.assertStatus(
            self.get(f"/beneficiaries/sr/{other.sr_id}", client="all"), 200
        )

    def test_beneficiary_invalid_path_values(self):
        for path in ("/beneficiaries/sr/%00", "/beneficiaries/sr/" + "x" * 300):
            with self.subTest(path=path[:40]):
                self.assertStatus(self.get(path), 422)

    def test_beneficiary_enrollments(self):
        sr_id = self.members_a[0].sr_id
        body = self.assertStatus(
            self.get(f"/beneficiaries/sr/{sr_id}/enrollments"), 200
        )
        self.assertEqual(body["total"], 1)
        enrollment = body["items"][0]
        self.assertEqual(enrollment["program"], "T-A")
        self.assertEqual(enrollment["state"], "enrolled")
        self.assertTrue(enrollment["enrollment_date"])
        path = f"/beneficiaries/sr/{sr_id}/enrollments"
        body = self.assertStatus(self.get(path, params={"state": "paused"}), 200)
        self.assertEqual((body["total"], body["items"]), (0, []))
        body = self.assertStatus(self.get(path, params={"offset": 5}), 200)
        self.assertEqual((body["total"], body["items"]), (1, []))
        body = self.assertStatus(self.get(path, params={"limit": 0}), 200)
        self.assertEqual((body["total"], body["items"]), (1, []))
        self.assertStatus(self.get(path, params={"state": "nope"}), 422)

    def test_beneficiary_entitlements(self):
        sr_id = self.members_a[0].sr_id
        path = f"/beneficiaries/sr/{sr_id}/entitlements"
        body = self.assertStatus(self.get(path), 200)
        self.assertEqual(body["total"], 1)
        entitlement = body["items"][0]
        self.assertEqual(entitlement["program"], "T-A")
        self.assertEqual(entitlement["cycle_id"], self.cycle_a.id)
        self.assertEqual(entitlement["kind"], "cash")
        self.assertEqual(entitlement["amount"], 50.0)
        self.assertEqual(entitlement["state"], "approved")
        self.assertEqual(entitlement["remaining"], 50.0)
        [disbursement] = entitlement["disbursements"]
        self.assertEqual(disbursement["status"], "pending")
        self.assertIn(
            disbursement["reference"], self.disbursements_a.mapped("reference")
        )
        for params, total in (
            ({"program": "T-A"}, 1),
            ({"program": "T-B"}, 0),
            ({"cycle": self.cycle_a.id}, 1),
            ({"cycle": self.cycle_b.id}, 0),
            ({"state": "approved"}, 1),
            ({"state": "draft"}, 0),
        ):
            with self.subTest(params=params):
                body = self.assertStatus(self.get(path, params=params), 200)
                self.assertEqual(body["total"], total)
                self.assertEqual(len(body["items"]), total)
        body = self.assertStatus(self.get(path, params={"limit": 0}), 200)
        self.assertEqual((body["total"], body["items"]), (1, []))
        body = self.assertStatus(self.get(path, params={"offset": 1}), 200)
        self.assertEqual((body["total"], body["items"]), (1, []))
        for params in (
            {"limit": 1001},
            {"cycle": "abc"},
            {"cycle": 2**40},
            {"state": "x"},
            {"program": ""},
        ):
            with self.subTest(params=params):
                self.assertStatus(self.get(path, params=params), 422)

    # ------------------------------------------------------------------
    # disbursement status
    # ------------------------------------------------------------------
    @staticmethod
    def now_utc():
        return fields.Datetime.now().replace(microsecond=0)

    def _item(self, disbursement, status="sent", **kwargs):
        item = {
            "reference": disbursement.reference,
            "status": status,
            "status_time": self.now_utc().isoformat() + "Z",
        }
        item.update(kwargs)
        return item

    def assertStatusResponse(self, body):
        """The router returns the status results as they are (no response
        validation by FastAPI): they must match the documented schema."""
        StatusUpdateResponse.model_validate(body)
        self.assertEqual(set(body), {"summary", "results"})
        for result in body["results"]:
            self.assertEqual(set(result), {"reference", "result", "code", "message"})
        return body

    def test_disbursement_status_applied_then_unchanged(self):
        first, second = self.disbursements_a[:2]
        payload = {
            "items": [
                self._item(first, "sent"),
                self._item(second, "failed", failure_reason="Account closed"),
            ]
        }
        body = self.assertStatus(self.post("/disbursements/status", payload), 200)
        self.assertStatusResponse(body)
        self.assertEqual(body["summary"], {"applied": 2, "unchanged": 0, "error": 0})
        self.assertEqual([r["result"] for r in body["results"]], ["applied"] * 2)
        self.disbursements_a.invalidate_recordset()
        self.assertEqual(first.status, "sent")
        self.assertEqual(second.status, "failed")
        self.assertEqual(second.failure_reason, "Account closed")
        # idempotent
        body = self.assertStatus(self.post("/disbursements/status", payload), 200)
        self.assertEqual(body["summary"], {"applied": 0, "unchanged": 2, "error": 0})
        log = self.env["g2p.br.api.call.log"].search(
            [("client_id", "=", self.clients["writer"].id)], order="id desc"
        )
        self.assertEqual(len(log), 2)
        self.assertEqual(
            (log[0].outcome, log[0].item_count, log[0].unchanged_count),
            ("ok", 2, 2),
        )
        self.assertEqual((log[1].applied_count, log[1].status_code), (2, 200))
        self.assertEqual(log[0].endpoint, "/disbursements/status")

    def test_disbursement_status_bad_items_do_not_block(self):
        first = self.disbursements_a[0]
        now = self.now_utc()
        payload = {
            "items": [
                self._item(
                    first,
                    "paid",
                    status_time=(now + timedelta(hours=2)).isoformat() + "+02:00",
                ),
                {
                    "reference": "NO-SUCH-REF",
                    "status": "paid",
                    "status_time": now.isoformat(),
                },
                # another program's disbursement: not visible, not found
                self._item(self.disbursements_b[0], "paid"),
                # pending -> reversed is not a transition
                self._item(self.disbursements_a[1], "reversed"),
            ]
        }
        body = self.assertStatus(self.post("/disbursements/status", payload), 200)
        self.assertStatusResponse(body)
        self.assertEqual(body["summary"], {"applied": 1, "unchanged": 0, "error": 3})
        results = body["results"]
        self.assertEqual(results[0]["result"], "applied")
        self.assertEqual(
            [r["code"] for r in results[1:]],
            ["not_found", "not_found", "invalid_transition"],
        )
        self.assertTrue(all(r["message"] for r in results[1:]))
        first.invalidate_recordset()
        self.assertEqual(first.status, "paid")
        self.assertEqual(first.paid_at, now)
        self.disbursements_b.invalidate_recordset()
        self.assertEqual(self.disbursements_b[0].status, "pending")
        log = self.env["g2p.br.api.call.log"].search(
            [("client_id", "=", self.clients["writer"].id)], limit=1
        )
        self.assertEqual((log.outcome, log.error_count), ("partial", 3))

    def test_disbursement_status_forbidden_without_group(self):
        payload = {"items": [self._item(self.disbursements_a[0])]}
        body = self.assertStatus(
            self.post("/disbursements/status", payload, client="reader"), 403
        )
        self.assertEqual(body["errors"][0]["code"], "forbidden")
        self.disbursements_a.invalidate_recordset()
        self.assertEqual(self.disbursements_a[0].status, "pending")
        log = self.env["g2p.br.api.call.log"].search(
            [("client_id", "=", self.clients["reader"].id)]
        )
        self.assertEqual(
            (log.outcome, log.status_code, log.item_count), ("forbidden", 403, 1)
        )

    def test_disbursement_status_malformed(self):
        item = self._item(self.disbursements_a[0])
        for payload in (
            None,
            {},
            {"items": []},
            {"items": [item] * 1001},
            {"items": [dict(item, status="lost")]},
            {"items": [dict(item, status_time="yesterday")]},
            {"items": [dict(item, reference="")]},
            {"items": [dict(item, reference="A\x00B")]},
            {"items": [dict(item, extra=1)]},
            {"items": [{"reference": "x"}]},
            {"items": "all"},
            [item],
        ):
            with self.subTest(payload=str(payload)[:60]):
                body = self.assertStatus(
                    self.post("/disbursements/status", payload), 422
                )
                self.assertTrue(body["errors"])
                self.assertTrue(all(e["code"] for e in body["errors"]))
        log = self.env["g2p.br.api.call.log"].search(
            [("client_id", "=", self.clients["writer"].id)]
        )
        self.assertEqual(set(log.mapped("outcome")), {"rejected"})
        self.assertEqual(set(log.mapped("status_code")), {422})
        self.assertEqual(len(log), 12)
        self.assertTrue(any("items" in record.detail for record in log))
        response = self.client.post(
            "/disbursements/status",
            content=b"{not json",
            headers=dict(
                self.headers("writer"), **{"Content-Type": "application/json"}
            ),
        )
        self.assertStatus(response, 422)
        self.assertStatus(
            self.post("/disbursements/status", {"items": [item]}, headers={}), 401
        )

    def test_disbursement_status_time_strict(self):
        """status_time: an ISO 8601 string only, representable, not far in the
        future (422 with a code), never a 500 (OverflowError)."""
        item = self._item(self.disbursements_a[0])
        future = (fields.Datetime.now() + timedelta(days=1)).isoformat() + "Z"
        for status_time, code in (
            ("9999-12-31T23:59:59-14:00", "datetime_out_of_range"),
            ("0001-01-01T00:00:00+14:00", "datetime_out_of_range"),
            # parsed texts are remembered, refusals are not
            ("9999-12-31T23:59:59-14:00", "datetime_out_of_range"),
            ("2026-11-20T10:00:00.1234567Z", "datetime_format"),
            (" " * 100 + "2026-11-20T10:00:00.123456+00:00x", "datetime_format"),
            (1700000000, "datetime_type"),
            (1700000000.5, "datetime_type"),
            ("1700000000", "datetime_format"),
            ("2026-11-20", "datetime_format"),
            ("2026-11-20T10:00", "datetime_format"),
            (None, "datetime_type"),
            (future, "status_time_in_future"),
            ("2999-01-01T00:00:00Z", "status_time_in_future"),
        ):
            with self.subTest(status_time=status_time):
                payload = {"items": [dict(item, status_time=status_time)]}
                body = self.assertStatus(
                    self.post("/disbursements/status", payload), 422
                )
                self.assertEqual(
                    body["errors"][0],
                    {
                        "code": code,
                        "message": body["errors"][0]["message"],
                        "location": ["body", "items", 0, "status_time"],
                    },
                )
        self.disbursements_a.invalidate_recordset()
        self.assertEqual(self.disbursements_a[0].status, "pending")

    def test_disbursement_status_time_before_creation(self):
        first, second = self.disbursements_a[:2]
        payload = {
            "items": [
                self._item(first, status_time="1970-01-01T00:00:00Z"),
                self._item(second),
            ]
        }
        body = self.assertStatus(self.post("/disbursements/status", payload), 200)
        self.assertEqual(
            [(r["result"], r["code"]) for r in body["results"]],
            [("error", "status_time_before_creation"), ("applied", None)],
        )
        first.invalidate_recordset()
        self.assertEqual(first.status, "pending")

    def test_disbursement_status_duplicate_reference(self):
        first, second = self.disbursements_a[:2]
        for expected_first in ("applied", "unchanged"):
            payload = {
                "items": [
                    self._item(first, "sent"),
                    self._item(second, "sent"),
                    self._item(first, "sent"),
                    self._item(first, "paid"),
                ]
            }
            body = self.assertStatus(self.post("/disbursements/status", payload), 200)
            self.assertEqual(
                [(r["reference"], r["result"], r["code"]) for r in body["results"]],
                [
                    (first.reference, expected_first, None),
                    (second.reference, expected_first, None),
                    (first.reference, "error", "duplicate_reference"),
                    (first.reference, "error", "duplicate_reference"),
                ],
            )
        first.invalidate_recordset()
        self.assertEqual(first.status, "sent")

    def test_body_not_utf8_or_too_deep(self):
        headers = dict(self.headers("writer"), **{"Content-Type": "application/json"})
        for content, code in (
            ('{"items": ["\u00e9"]}'.encode("latin-1"), "body_not_utf8"),
            (b"[" * 5000 + b"]" * 5000, "json_too_deep"),
            (b"{oops", "json_invalid"),
        ):
            with self.subTest(code=code):
                response = self.client.post(
                    "/disbursements/status", content=content, headers=headers
                )
                body = self.assertStatus(response, 422)
                self.assertEqual(body["errors"][0]["code"], code)

    def test_dates_are_rfc3339_with_offset(self):
        member = self.members_a[0]
        member.write(
            {
                "sr_updated_at": "2026-09-10 20:03:37",
                "synced_at": "2026-09-11 08:00:00",
            }
        )
        body = self.assertStatus(self.get(f"/beneficiaries/sr/{member.sr_id}"), 200)
        self.assertEqual(body["sr_updated_at"], "2026-09-10T20:03:37Z")
        self.assertEqual(body["synced_at"], "2026-09-11T08:00:00Z")
        self.post(
            "/disbursements/status", {"items": [self._item(self.disbursements_a[0])]}
        )
        body = self.assertStatus(
            self.get(f"/beneficiaries/sr/{member.sr_id}/entitlements"), 200
        )
        status_time = body["items"][0]["disbursements"][0]["status_time"]
        self.assertRegex(status_time, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_demo_key_not_stored_in_clear(self):
        from ..models.g2p_br_api_demo import DEMO_KEY

        secret = DEMO_KEY.split("_", 2)[2]
        self.env.cr.execute(
            "SELECT count(*) FROM g2p_br_api_client WHERE concat_ws("
            "' ', name, note, key_prefix, key_salt, key_hash) LIKE %s",
            (f"%{secret}%",),
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        client = self.env.ref("g2p_br_api.api_client_demo", raise_if_not_found=False)
        if client:
            self.assertNotIn(secret, client.note or "")

    def test_disbursement_status_batch_of_1000(self):
        payload = {"items": [self._item(self.disbursements_a[0], "sent")] * 1000}
        body = self.assertStatus(self.post("/disbursements/status", payload), 200)
        self.assertEqual(body["summary"]["applied"], 1)
        self.assertEqual(len(body["results"]), 1000)

    def test_call_log_admin_only(self):
        self.post(
            "/disbursements/status", {"items": [self._item(self.disbursements_a[0])]}
        )
        Log = self.env["g2p.br.api.call.log"]
        self.assertTrue(Log.search_count([]))
        reader = self.users["writer"]
        self.assertFalse(Log.with_user(reader).check_access_rights("read", False))
        self.assertFalse(
            self.env["g2p.br.api.client"]
            .with_user(reader)
            .check_access_rights("read", False)
        )

    # ------------------------------------------------------------------
    # DCI IBR enrolled
    # ------------------------------------------------------------------
    def _envelope(self, query=None, query_type="idtype-value", message=None, **header):
        return {
            "signature": "",
            "header": {
                "version": "1.0.0",
                "message_id": "msg-1",
                "message_ts": "2026-11-25T10:00:00Z",
                "action": "search",
                "sender_id": "spmis.example.org",
                "total_count": "1",
                "is_msg_encrypted": False,
                **header,
            },
            "message": message
            or {
                "transaction_id": "txn-1",
                "enrolled_criteria": {
                    "query_type": query_type,
                    "response_entity": "Member",
                    "query": query,
                },
            },
        }

    def _dci_post(self, envelope, client="reader", path="/registry/sync/enrolled"):
        body = self.assertStatus(self.post(path, envelope, client=client), 200)
        self.assertEqual(dci_spec.enrolled_response_errors(body), [])
        return body

    def _dci(self, query, query_type="idtype-value", client="reader", **header):
        return self._dci_post(self._envelope(query, query_type, **header), client)

    def test_dci_enrolled_yes(self):
        nid = self.members_a[0].identifier_ids[0].value
        body = self._dci(
            {
                "person_identifier": {"eq": nid},
                "programme_identifier.program.programme_identifier": {"eq": "T-A"},
            }
        )
        self.assertEqual(body["header"]["status"], "succ")
        self.assertNotIn("status_reason_code", body["header"])
        self.assertNotIn("signature", body)
        self.assertEqual(body["header"]["receiver_id"], "spmis.example.org")
        self.assertEqual(body["message"]["transaction_id"], "txn-1")
        [item] = body["message"]["enrolled_response"]
        self.assertEqual(item["reference_id"], "msg-1")
        self.assertEqual((item["status"], item["enrolled_status"]), ("succ", "yes"))
        self.assertNotIn("status_reason_code", item)
        self.assertNotIn("status_reason_message", item)
        [programme] = item["programmes"]
        self.assertEqual(programme["programme_identifier"], "T-A")
        self.assertEqual(
            (programme["enrolment_status"], programme["registry_state"]),
            ("Active", "enrolled"),
        )
        self.assertRegex(item["timestamp"], r"Z$")

    def test_dci_legacy_path_is_an_alias(self):
        nid = self.members_a[0].identifier_ids[0].value
        envelope = self._envelope({"person_identifier": {"eq": nid}})
        new = self._dci_post(envelope)
        old = self._dci_post(envelope, path="/dci/ibr/sync/enrolled")
        for body in (new, old):
            body["header"].pop("message_id")
            body["header"].pop("message_ts")
            body["message"].pop("correlation_id")
            body["message"]["enrolled_response"][0].pop("timestamp")
        self.assertEqual(new, old)

    def test_dci_enrolment_vocabulary(self):
        Membership = self.env["g2p.br.program.membership"]
        first, second = (
            Membership.search([("beneficiary_id", "=", member.id)])
            for member in self.members_a
        )
        for member, step, status, state in (
            (self.members_a[0], first.action_pause, "Suspended", "paused"),
            (
                self.members_a[0],
                lambda: first.action_exit("Moved away"),
                "Graduated",
                "exited",
            ),
            (
                self.members_a[1],
                lambda: second.action_exit("Deceased"),
                "Deceased",
                "exited",
            ),
        ):
            with self.subTest(status=status):
                step()
                query = {"person_identifier": {"eq": member.sr_id}}
                [item] = self._dci(query)["message"]["enrolled_response"]
                self.assertEqual(item["enrolled_status"], "no")
                [programme] = item["programmes"]
                self.assertEqual(programme["enrolment_status"], status)
                self.assertEqual(programme["registry_state"], state)

    def test_dci_enrolled_forms(self):
        member = self.members_a[1]
        nid = member.identifier_ids[0].value
        for query_type, query, expected in (
            ("idtype-value", {"person_identifier": {"eq": member.sr_id}}, "yes"),
            ("idtype-value", {"type": "NID", "value": nid}, "yes"),
            (
                "idtype-value",
                {"person_identifier": nid, "person_identifier_type": "NID"},
                "yes",
            ),
            (
                "expression",
                {
                    "attribute_name": "person_identifier",
                    "operator": "eq",
                    "attribute_value": nid,
                },
                "yes",
            ),
            (
                "expression",
                [
                    {"attribute_name": "person_identifier", "attribute_value": nid},
                    {
                        "attribute_name": "programme_identifier",
                        "attribute_value": "T-B",
                    },
                ],
                "no",
            ),
            ("idtype-value", {"person_identifier": {"eq": "NOBODY"}}, "no"),
            # not visible to this client: not revealed
            (
                "idtype-value",
                {"person_identifier": {"eq": self.members_b[0].sr_id}},
                "no",
            ),
        ):
            with self.subTest(query=query):
                body = self._dci(query, query_type)
                [item] = body["message"]["enrolled_response"]
                self.assertEqual(item["status"], "succ", item)
                self.assertEqual(item["enrolled_status"], expected)

    def test_dci_spec_sample_request(self):
        """The spec's own sample request (processflow2req.json), with a person
        of the dataset: a valid EnrolledResponse (not the sample response's
        search_response/reg_records form, see the README)."""
        with open(f"{dci_spec.SAMPLE_DIR}/processflow2req.json", encoding="utf-8") as f:
            envelope = json.load(f)
        nid = self.members_a[0].identifier_ids[0].value
        envelope["message"]["enrolled_criteria"]["query"]["attribute_value"] = nid
        body = self._dci_post(envelope)
        self.assertEqual(body["message"]["transaction_id"], "")
        self.assertNotIn("search_response", body["message"])
        [item] = body["message"]["enrolled_response"]
        self.assertEqual((item["status"], item["enrolled_status"]), ("succ", "yes"))

    def test_dci_several_queries_item_by_item(self):
        nid_a = self.members_a[0].identifier_ids[0].value
        message = {
            "transaction_id": "txn-2",
            "search_request": [
                {
                    "reference_id": f"ref-{n}",
                    "timestamp": "2026-11-25T10:00:00Z",
                    "search_criteria": {"query_type": "idtype-value", "query": query},
                }
                for n, query in enumerate(
                    (
                        {"person_identifier": {"eq": nid_a}},
                        {"person_identifier": {"eq": "NOBODY"}},
                        {"programme_identifier": {"eq": "T-A"}},
                        {"person_identifier": {"eq": self.members_a[1].sr_id}},
                    )
                )
            ],
        }
        body = self._dci_post(self._envelope(message=message))
        items = body["message"]["enrolled_response"]
        self.assertEqual(
            [(i["reference_id"], i["status"], i["enrolled_status"]) for i in items],
            [
                ("ref-0", "succ", "yes"),
                ("ref-1", "succ", "no"),
                ("ref-2", "rjct", "no"),
                ("ref-3", "succ", "yes"),
            ],
        )
        self.assertEqual(items[2]["status_reason_code"], "rjct.search_criteria.invalid")
        self.assertEqual(body["header"]["status"], "succ")
        self.assertEqual(
            (body["header"]["total_count"], body["header"]["completed_count"]), (4, 4)
        )
        # both forms at once, or too many queries: 422
        both = dict(message, enrolled_criteria={"query": {}})
        self.assertStatus(
            self.post("/registry/sync/enrolled", self._envelope(message=both)), 422
        )
        many = dict(message, search_request=message["search_request"][:1] * 101)
        self.assertStatus(
            self.post("/registry/sync/enrolled", self._envelope(message=many)), 422
        )

    def test_dci_encrypted_message(self):
        encrypted = {
            "header": {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "k1"},
            "ciphertext": "abc",
            "encrypted_key": "def",
            "tag": "ghi",
            "iv": "jkl",
        }
        for envelope in (
            self._envelope(message=encrypted, is_msg_encrypted=True),
            self._envelope(message=encrypted),
            self._envelope({"person_identifier": {"eq": "x"}}, is_msg_encrypted=True),
        ):
            with self.subTest(envelope=str(envelope["message"])[:40]):
                body = self._dci_post(envelope)
                self.assertEqual(body["header"]["status"], "rjct")
                self.assertEqual(
                    body["header"]["status_reason_message"],
                    "encrypted messages are not supported",
                )
                [item] = body["message"]["enrolled_response"]
                self.assertEqual(
                    (item["status"], item["enrolled_status"]), ("rjct", "no")
                )

    def test_dci_enrolled_rejections(self):
        nid = self.members_a[0].identifier_ids[0].value
        # the whole message
        body = self._dci({"person_identifier": {"eq": nid}}, action="delete")
        self.assertEqual(
            (body["header"]["status"], body["header"]["status_reason_code"]),
            ("rjct", "rjct.action.not_supported"),
        )
        # one query
        for kwargs in (
            {"query": {"person_identifier": {"eq": nid}}, "query_type": "predicate"},
            {"query": {"programme_identifier": {"eq": "T-A"}}},
            {"query": {"person_identifier": {"gt": nid}}},
            {"query": {"person_identifier": [nid]}},
            {"query": {"person_identifier": "A\x00"}},
        ):
            with self.subTest(kwargs=str(kwargs)[:80]):
                body = self._dci(**kwargs)
                self.assertEqual(body["header"]["status"], "rjct")
                self.assertNotIn("status_reason_code", body["header"])
                [item] = body["message"]["enrolled_response"]
                self.assertEqual(
                    (
                        item["status"],
                        item["status_reason_code"],
                        item["enrolled_status"],
                    ),
                    ("rjct", "rjct.search_criteria.invalid", "no"),
                )
                self.assertTrue(item["status_reason_message"])

    def test_dci_ambiguous_identifier(self):
        IdType = self.env["g2p.br.identifier.type"]
        other_type = IdType.create({"code": "T-OTHER", "name": "Other"})
        nid = self.members_a[0].identifier_ids[0].value
        self.env["g2p.br.beneficiary.identifier"].create(
            {
                "beneficiary_id": self.members_a[1].id,
                "type_id": other_type.id,
                "value": nid,
            }
        )
        [item] = self._dci({"person_identifier": {"eq": nid}})["message"][
            "enrolled_response"
        ]
        self.assertEqual(
            (item["status"], item["status_reason_code"]),
            ("rjct", "rjct.search.too_many_records_found"),
        )

    def test_dci_errors_are_http_error_responses(self):
        envelope = self._envelope({"person_identifier": {"eq": "x"}})
        for path in ("/registry/sync/enrolled", "/dci/ibr/sync/enrolled"):
            response = self.client.post(path, json=envelope)
            body = self.assertStatus(response, 401)
            self.assertEqual(dci_spec.http_error_errors(body), [])
            body = self.assertStatus(self.post(path, {"header": {}}), 422)
            self.assertEqual(dci_spec.http_error_errors(body), [])

    def test_dci_enrolled_malformed(self):
        for payload in (
            {},
            {"header": {}, "message": {}},
            {"header": {"message_id": "m"}, "message": {"transaction_id": "t"}},
        ):
            with self.subTest(payload=payload):
                self.assertStatus(self.post("/registry/sync/enrolled", payload), 422)

    # ------------------------------------------------------------------
    # OpenAPI
    # ------------------------------------------------------------------
    def test_openapi_document(self):
        body = self.assertStatus(self.client.get("/openapi.json"), 200)
        self.assertEqual(
            set(body["paths"]),
            {
                "/beneficiaries/{id_type}/{id_value}",
                "/beneficiaries/{id_type}/{id_value}/enrollments",
                "/beneficiaries/{id_type}/{id_value}/entitlements",
                "/programs",
                "/programs/{code}",
                "/programs/{code}/enrollments",
                "/programs/{code}/cycles",
                "/disbursements/status",
                "/dci/ibr/sync/enrolled",
                "/registry/sync/enrolled",
                "/disbursements",
                "/disbursements/{reference}",
                "/beneficiaries",
                "/beneficiaries/enrollments",
                "/beneficiaries/entitlements",
            },
        )
        self.assertEqual(
            set(body["components"]["securitySchemes"]), {"BearerKey", "ApiKeyHeader"}
        )
        # one documented error shape for every error answer
        for path, operations in body["paths"].items():
            for method, operation in operations.items():
                for code, response in operation["responses"].items():
                    if code.startswith(("4", "5")):
                        with self.subTest(path=path, method=method, code=code):
                            schema = response["content"]["application/json"]["schema"]
                            self.assertEqual(
                                schema["$ref"], "#/components/schemas/ErrorResponse"
                            )
                for code in ("401", "422"):
                    self.assertIn(code, operation["responses"], (path, method))
        self.assertNotIn("HTTPValidationError", body["components"]["schemas"])
