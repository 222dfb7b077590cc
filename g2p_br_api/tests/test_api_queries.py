# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""SQL query budget of the lookups (issue #12): at most 6 queries for an
enrollment lookup and 8 for entitlements, warm (after a first call)."""

import logging

from odoo.tests import tagged

from .common import BrApiRouterCase

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install")
class TestBrApiQueryCount(BrApiRouterCase):
    prefix = "QC"

    def count(self, path, client="reader"):
        headers = self.headers(client)
        self.assertEqual(self.client.get(path, headers=headers).status_code, 200)
        # warm: Odoo's caches filled, a new transaction's record cache empty
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        queries = []
        cursor_class = type(self.env.cr)
        execute = cursor_class.execute

        def spy(cr, query, params=None, log_exceptions=True):
            queries.append(str(query)[:160].replace("\n", " "))
            return execute(cr, query, params, log_exceptions)

        cursor_class.execute = spy
        try:
            response = self.client.get(path, headers=headers)
        finally:
            cursor_class.execute = execute
        _logger.info("BR API queries of %s:\n%s", path, "\n".join(queries))
        count = self.env.cr.sql_log_count - before
        self.assertEqual(response.status_code, 200, response.text)
        _logger.info("BR API queries: %s for %s", count, path)
        return count

    def test_query_budget(self):
        sr_id = self.members_a[0].sr_id
        nid = self.members_a[0].identifier_ids.value
        budget = {
            f"/beneficiaries/sr/{sr_id}/enrollments": 6,
            f"/beneficiaries/NID/{nid}/enrollments": 6,
            f"/beneficiaries/sr/{sr_id}/entitlements": 8,
            f"/beneficiaries/NID/{nid}/entitlements": 8,
        }
        counts = {path: self.count(path) for path in budget}
        for path, limit in budget.items():
            with self.subTest(path=path):
                self.assertLessEqual(counts[path], limit, counts)

    def test_key_cache_invalidated_at_once(self):
        """A warm key cache never lets a revoked, rotated, expired or archived
        key through; the invalidation is signalled to the other workers."""
        path = f"/beneficiaries/sr/{self.members_a[0].sr_id}/enrollments"
        for name, refuse in (
            ("expired", lambda c: c.write({"expires_at": "2000-01-01 00:00:00"})),
            ("revoked", lambda c: c.action_revoke()),
        ):
            with self.subTest(name=name):
                client = self.clients[name]
                client.write({"revoked": False, "expires_at": False})
                self.keys[name] = client._set_new_key()
                self.count(path, client=name)  # warm
                self.registry.cache_invalidated.clear()
                refuse(client)
                self.assertIn("default", self.registry.cache_invalidated)
                response = self.client.get(path, headers=self.headers(name))
                self.assertEqual(response.status_code, 401)
        # rotation and the user's archiving
        self.count(path)
        old = self.keys["reader"]
        self.clients["reader"].action_generate_key()
        response = self.client.get(path, headers={"Authorization": f"Bearer {old}"})
        self.assertEqual(response.status_code, 401)
        self.count(path, client="writer")
        self.users["writer"].active = False
        response = self.client.get(path, headers=self.headers("writer"))
        self.assertEqual(response.status_code, 401)

    def test_unknown_prefixes_are_not_cached(self):
        """Random key prefixes must not fill Odoo's cache (and evict others)."""
        Client = self.env["g2p.br.api.client"]
        cache = type(Client)._key_entry.__cache__.lru(Client)[0]
        self.client.get("/programs", headers={"Authorization": "Bearer x"})  # warm
        before = len(cache)
        for n in range(20):
            response = self.client.get(
                "/programs",
                headers={"Authorization": f"Bearer brk_{n:08x}_" + "a" * 43},
            )
            self.assertEqual(response.status_code, 401)
        self.assertEqual(len(cache), before)
