# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..context import API_REQUEST


class G2pBrApiReadLog(models.Model):
    """One row per beneficiary whose data an API call returned: who (client,
    user) read whom, through which endpoint, when. Administrators only;
    written by the API request path in one INSERT per request."""

    _name = "g2p.br.api.read.log"
    _description = "BR API Read of a Beneficiary"
    _order = "read_time desc, id desc"
    _log_access = False

    client_id = fields.Many2one(
        "g2p.br.api.client", ondelete="set null", index=True, readonly=True
    )
    user_id = fields.Many2one("res.users", readonly=True)
    endpoint = fields.Char(
        readonly=True, help="Route template, e.g. /beneficiaries/{id_type}/{id_value}"
    )
    beneficiary_id = fields.Many2one(
        "g2p.br.beneficiary", ondelete="set null", index=True, readonly=True
    )
    read_time = fields.Datetime(required=True, index=True, readonly=True)

    @api.model
    def _record_reads(self, beneficiary_ids):
        """Record that the current API request returned these beneficiaries'
        data: one INSERT for the whole request. Does nothing outside of an
        API request (``API_REQUEST`` is set by its authentication only)."""
        request = API_REQUEST.get()
        ids = sorted({i for i in beneficiary_ids if i})
        if request is None or not ids:
            return 0
        # The INSERT turns a read-only request into a writing transaction,
        # whose commit waits for the WAL flush (an fsync: tens of ms on a busy
        # disk, the bulk of a lookup). The audit rows of this transaction do
        # not need it: ``synchronous_commit`` off for this transaction only
        # (same statement, no extra round trip). At a database crash, the
        # reads of the last moments (at most 3 x wal_writer_delay, 600 ms by
        # default) may be missing from the trail; nothing else is affected.
        self.env.cr.execute(
            SQL(
                "SET LOCAL synchronous_commit TO OFF; "
                "INSERT INTO g2p_br_api_read_log "
                "(client_id, user_id, endpoint, beneficiary_id, read_time) "
                "SELECT %s, %s, %s, unnest(%s::int[]), now() AT TIME ZONE 'UTC'",
                request.client_id,
                request.user_id,
                request.endpoint,
                ids,
            )
        )
        return len(ids)
