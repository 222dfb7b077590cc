import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


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
