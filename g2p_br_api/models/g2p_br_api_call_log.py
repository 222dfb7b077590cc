# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365


class G2pBrApiCallLog(models.Model):
    """One record per write call made through the BR API (administrators only)."""

    _name = "g2p.br.api.call.log"
    _description = "BR API Write Call"
    _order = "call_time desc, id desc"
    _log_access = False

    client_id = fields.Many2one(
        "g2p.br.api.client", ondelete="set null", index=True, readonly=True
    )
    user_id = fields.Many2one("res.users", readonly=True)
    call_time = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True, readonly=True
    )
    method = fields.Char(readonly=True)
    endpoint = fields.Char(readonly=True, index=True)
    status_code = fields.Integer(readonly=True)
    outcome = fields.Selection(
        [
            ("ok", "All applied or unchanged"),
            ("partial", "Some items failed"),
            ("failed", "All items failed"),
            ("forbidden", "Forbidden"),
            ("rejected", "Malformed request"),
        ],
        readonly=True,
    )
    item_count = fields.Integer(readonly=True)
    applied_count = fields.Integer(readonly=True)
    unchanged_count = fields.Integer(readonly=True)
    error_count = fields.Integer(readonly=True)
    duration_ms = fields.Integer(readonly=True)
    detail = fields.Text(readonly=True, help="Error codes seen, for diagnosis.")

    @api.model
    def _record_call(self, vals):
        """Record a write call.

        Superuser rights on purpose: API clients must not be able to read nor
        forge the log, so they get no access right on this model; the log is
        written by the API layer on their behalf, with the authenticated
        client and user taken from the request, not from the caller's input.
        """
        return self.sudo().create(vals).id

    @api.model
    def _cron_purge_logs(self, batch_size=50_000):
        """Delete the API's call log and read log rows older than their
        retention (system parameters ``g2p_br_api.call_log_retention_days`` and
        ``g2p_br_api.read_log_retention_days``, in days, default 365; 0 keeps
        them forever), in batches."""
        params = self.env["ir.config_parameter"].sudo()
        deleted = {}
        for table, column, key in (
            ("g2p_br_api_call_log", "call_time", "g2p_br_api.call_log_retention_days"),
            ("g2p_br_api_read_log", "read_time", "g2p_br_api.read_log_retention_days"),
        ):
            try:
                days = int(params.get_param(key, DEFAULT_RETENTION_DAYS))
            except ValueError:
                _logger.warning("Ignoring %s: not a number of days", key)
                continue
            if days <= 0:
                continue
            deleted[table] = 0
            while True:
                self.env.cr.execute(
                    SQL(
                        "DELETE FROM %(table)s WHERE id IN ("
                        "SELECT id FROM %(table)s WHERE %(column)s < "
                        "(now() AT TIME ZONE 'UTC') - make_interval(days => %(days)s) "
                        "LIMIT %(limit)s)",
                        table=SQL.identifier(table),
                        column=SQL.identifier(column),
                        days=days,
                        limit=batch_size,
                    )
                )
                deleted[table] += self.env.cr.rowcount
                if self.env.cr.rowcount < batch_size:
                    break
        self.env.invalidate_all()
        _logger.info("BR API logs purged: %s", deleted)
        return deleted
