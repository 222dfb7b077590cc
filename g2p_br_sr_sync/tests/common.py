# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from urllib.parse import urlsplit

from odoo.tests.common import TransactionCase, _super_send

from odoo.addons.queue_job.tests.common import trap_jobs

from ..services import dci_client
from . import dci_sr_server

SrRegistry = dci_sr_server.SrRegistry


class SimulatedCrash(BaseException):
    """Stands for a worker killed mid-job: escapes every ``except Exception``."""


# mappings of the test server's record format (predicate dialect)
INDIVIDUAL_MAPPING = dci_sr_server.INDIVIDUAL_MAPPING
GROUP_MAPPING = dci_sr_server.GROUP_MAPPING
GRAPHQL_GROUP_MAPPING = [
    ("regIds[idTypeAsStr=SRID].value", "sr_id", "none", ""),
    ("groupSize", "group_size", "int", ""),
    ("povertyScore", "poverty_score", "float", ""),
    ("region.code", "region_code", "none", ""),
    ("active", "active", "bool", ""),
    ("writeDate", "sr_updated_at", "datetime", ""),
]


class SrServerLoopback:
    """Lets the class's DCI SR test server (``cls.sr_server``, on 127.0.0.1)
    through Odoo's block on outbound HTTP; mixed into an Odoo test case."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        url = urlsplit(r.url)
        if url.hostname == "127.0.0.1" and url.port == cls.sr_server.port:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


class SrSyncCase(SrServerLoopback, TransactionCase):
    """Starts one DCI SR test server per class on 127.0.0.1 and lets only it
    through Odoo's block on outbound HTTP."""

    registry_size = 1000
    server_auth = "none"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sr_server = dci_sr_server.DciSrServer(
            SrRegistry(cls.registry_size, seed=7), auth=cls.server_auth
        ).start()
        cls.addClassCleanup(cls.sr_server.stop)
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.uin_type = cls.env["g2p.br.identifier.type"].create(
            {"code": "TEST-UIN", "name": "UIN (test)"}
        )
        cls.individuals = cls._make_connection(
            "SR individuals", "individual", INDIVIDUAL_MAPPING
        )
        cls.groups = cls._make_connection(
            "SR groups",
            "group",
            GROUP_MAPPING,
            reg_type="ns:org:RegistryType:Group",
        )

    @classmethod
    def _make_connection(cls, name, kind, mapping, **values):
        auth = {}
        if cls.server_auth == "oauth2":
            auth = {
                "auth_type": "oauth2",
                "token_url": "/oauth2/token",
                "client_id": cls.sr_server.client_id,
                "client_secret": cls.sr_server.client_secret,
            }
        elif cls.server_auth == "bearer":
            auth = {"auth_type": "bearer", "bearer_token": cls.sr_server.bearer_token}
        return cls.env["g2p.br.sr.connection"].create(
            {
                "name": name,
                "base_url": cls.sr_server.base_url,
                "beneficiary_kind": kind,
                "page_size": 100,
                "timeout": 5,
                "max_retries": 3,
                "retry_backoff": 0.01,
                # the test SR's stamps are one second apart: no overlap needed
                "cursor_overlap": 0,
                "mapping_ids": dci_sr_server.mapping_commands(mapping, cls.uin_type.id),
                **auth,
                **values,
            }
        )

    def setUp(self):
        super().setUp()
        # a fresh registry per test: mutations of one test never leak into another
        self.sr = SrRegistry(self.registry_size, seed=7)
        self.sr_server.registry = self.sr
        self.sr_server.reset_faults()
        self.sr_server.revoke_tokens()
        dci_client._token_cache.clear()
        self.sr_server.requests.clear()

    # -- helpers ------------------------------------------------------------------
    def run_jobs(self, trap, crash_ok=False):
        """Perform trapped jobs one by one, each in a savepoint like the real
        runner's transaction; a SimulatedCrash rolls back that job only."""
        crashed = 0
        while trap.enqueued_jobs:
            job = trap.enqueued_jobs.pop(0)
            try:
                with self.env.cr.savepoint():
                    job.perform()
            except SimulatedCrash:
                if not crash_ok:
                    raise
                crashed += 1
            self.env.invalidate_all()
        return crashed

    @contextmanager
    def jobs(self, crash_ok=False):
        with trap_jobs() as trap:
            yield trap
            self.run_jobs(trap, crash_ok=crash_ok)

    def pull(self, connection, mode="full"):
        with trap_jobs() as trap:
            run = connection._start_run(mode)
            self.run_jobs(trap)
        return run

    def pull_while_records_change(self):
        """A full pull of the individuals during which, after page 2 is
        served, records of pages 1, 2 and 8 change, three registrants appear
        and one is deactivated; the run is done."""
        changed = []
        self.sr_server.faults.after_page[2] = lambda reg: changed.extend(
            reg.update(seqs=[201, 350, 999]) + reg.add(3) + reg.deactivate(seqs=[260])
        )
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "done")
        self.assertEqual(len(changed), 7)
        return run

    def beneficiaries(self, kind=None):
        """Beneficiaries from the test SR (not the core's demo data)."""
        if kind:
            prefix = "IND-%" if kind == "individual" else "GRP-%"
            domain = [("kind", "=", kind), ("sr_id", "=like", prefix)]
        else:
            domain = ["|", ("sr_id", "=like", "IND-%"), ("sr_id", "=like", "GRP-%")]
        return (
            self.env["g2p.br.beneficiary"]
            .with_context(active_test=False)
            .search(domain)
        )

    def assert_br_equals_sr(self, kind="individual", links=False):
        """Every registrant of ``kind`` in the SR is in the BR, once, with the
        SR's current values (and, with ``links``, its household link)."""
        assert_br_equals_sr(self, self.env, self.sr, kind, links)


def assert_br_equals_sr(case, env, sr, kind="individual", links=False):
    env.invalidate_all()
    prefix = "IND-%" if kind == "individual" else "GRP-%"
    found = (
        env["g2p.br.beneficiary"]
        .with_context(active_test=False)
        .search([("kind", "=", kind), ("sr_id", "=like", prefix)])
    )
    br = {b.sr_id: b for b in found}
    expected = [r for r in sr.records.values() if r.kind == kind]
    missing = sorted({r.sr_id for r in expected} - set(br))
    case.assertFalse(missing, f"{len(missing)} SR registrants missing from the BR")
    case.assertEqual(len(br), len(expected))
    for rec in expected:
        ben = br[rec.sr_id]
        case.assertEqual(ben.region_code, rec.region_code, rec.sr_id)
        case.assertEqual(ben.active, rec.active, rec.sr_id)
        if kind == "individual":
            case.assertEqual(ben.birth_date, rec.birth_date, rec.sr_id)
            if links:
                group = sr.records.get(rec.group_seq)
                case.assertEqual(
                    ben.group_id.sr_id or None, group and group.sr_id, rec.sr_id
                )
        else:
            case.assertAlmostEqual(ben.poverty_score, rec.poverty_score, 4)
