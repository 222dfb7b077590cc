# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase

from odoo.addons.fastapi.tests.common import FastAPITransactionCase

API_ROOT = "/api/br/v1"


class BrApiDataMixin:
    """Dataset and API clients shared by the router, HTTP and fuzz tests.

    Programs ``T-A`` (2 members) and ``T-B`` (1 member), each with one approved
    cycle, entitlements and pending disbursements (see ``g2p.br.api.demo``).
    Clients (``cls.keys``):

    - ``reader``: a viewer assigned to T-A;
    - ``writer``: a viewer and disbursement status writer assigned to T-A;
    - ``all``: a viewer and writer assigned to T-A and T-B;
    - ``expired``, ``revoked``: like ``reader`` but unusable.
    """

    prefix = "T"

    @classmethod
    def _setup_br_api_data(cls):
        env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        data = env["g2p.br.api.demo"]._create_dataset(cls.prefix)
        cls.program_a = data["programs"]["A"]
        cls.program_b = data["programs"]["B"]
        cls.cycle_a = data["cycles"]["A"]
        cls.cycle_b = data["cycles"]["B"]
        cls.members_a = data["beneficiaries"]["A"]
        cls.members_b = data["beneficiaries"]["B"]
        cls.disbursements_a = env["g2p.br.disbursement"].search(
            [("program_id", "=", cls.program_a.id)], order="id"
        )
        cls.disbursements_b = env["g2p.br.disbursement"].search(
            [("program_id", "=", cls.program_b.id)], order="id"
        )
        viewer = env.ref("g2p_beneficiary_registry.group_br_viewer")
        writer = env.ref("g2p_br_api.group_br_api_disbursement_writer")
        internal = env.ref("base.group_user")

        def user(login, groups, programs):
            new_user = (
                env["res.users"]
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": login,
                        "login": login,
                        "groups_id": [Command.set((internal | groups).ids)],
                    }
                )
            )
            programs.write({"user_ids": [Command.link(new_user.id)]})
            return new_user

        cls.users = {
            "reader": user(f"{cls.prefix}_api_reader", viewer, cls.program_a),
            "writer": user(f"{cls.prefix}_api_writer", writer, cls.program_a),
            "all": user(f"{cls.prefix}_api_all", writer, cls.program_a | cls.program_b),
        }
        cls.users["expired"] = cls.users["revoked"] = cls.users["reader"]
        cls.clients = {}
        cls.keys = {}
        for name, client_user in cls.users.items():
            client = env["g2p.br.api.client"].create(
                {"name": f"{cls.prefix} {name}", "user_id": client_user.id}
            )
            cls.keys[name] = client._set_new_key()
            cls.clients[name] = client
        cls.clients["expired"].expires_at = fields.Datetime.now() - timedelta(minutes=1)
        cls.clients["revoked"].action_revoke()

    @classmethod
    def headers(cls, client="reader", scheme="bearer"):
        key = cls.keys[client]
        if scheme == "bearer":
            return {"Authorization": f"Bearer {key}"}
        return {"X-API-Key": key}


class BrApiRouterCase(BrApiDataMixin, FastAPITransactionCase):
    """Router tests: the dataset, and a test client of the app of the
    ``/api/br/v1`` endpoint record (its real authentication)."""

    post_client = "reader"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_br_api_data()
        cls.endpoint = cls.env.ref("g2p_br_api.fastapi_endpoint_br_api")

    def setUp(self):
        super().setUp()
        self.client = self.enterContext(
            self._create_test_client(app=self.endpoint._get_app())
        )

    def get(self, path, client="reader", **kwargs):
        kwargs.setdefault("headers", self.headers(client))
        return self.client.get(path, **kwargs)

    def post(self, path, json=None, client=None, **kwargs):
        kwargs.setdefault("headers", self.headers(client or self.post_client))
        return self.client.post(path, json=json, **kwargs)

    def assertStatus(self, response, code):
        self.assertEqual(response.status_code, code, response.text)
        return response.json()


class BrApiHttpCase(BrApiDataMixin, HttpCase):
    """End-to-end tests over real HTTP: the dataset, and the endpoint's app
    registered in the running test server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_br_api_data()
        cls.env.ref("g2p_br_api.fastapi_endpoint_br_api")._handle_registry_sync()
