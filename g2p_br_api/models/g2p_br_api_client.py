import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from psycopg2 import errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)

# Keys look like ``brk_<prefix>_<secret>``: the prefix (8 hex characters) is
# stored in clear and indexed to find the client in one query; the secret (32
# random bytes, URL-safe base64) is only stored as a salted SHA-256 digest.  A
# fast hash is enough here because the secret has 256 bits of entropy (unlike
# a password, it cannot be brute-forced from a dictionary), and it keeps the
# authentication cost per request negligible.
KEY_PATTERN = re.compile(r"^brk_([0-9a-f]{8})_([A-Za-z0-9_-]{16,128})$")
# ``last_used_at`` is only written when older than this, so that concurrent
# requests of one client do not all update (and lock) the same row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash_secret(salt, secret):
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


class G2pBrApiClient(models.Model):
    _name = "g2p.br.api.client"
    _description = "BR API Client"
    _order = "name"

    name = fields.Char(required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Runs as",
        required=True,
        ondelete="restrict",
        domain=[("share", "=", False)],
        help="The Odoo user the API calls of this client run as: its groups and "
        "the programs it is assigned to decide what the client can read and write.",
    )
    active = fields.Boolean(default=True)
    revoked = fields.Boolean(readonly=True, copy=False)
    revoked_at = fields.Datetime(readonly=True, copy=False)
    expires_at = fields.Datetime(
        string="Expires on", help="Leave empty for a key that does not expire."
    )
    key_prefix = fields.Char(readonly=True, copy=False, index=True)
    key_salt = fields.Char(readonly=True, copy=False, groups="base.group_system")
    key_hash = fields.Char(readonly=True, copy=False, groups="base.group_system")
    key_created_at = fields.Datetime(readonly=True, copy=False)
    last_used_at = fields.Datetime(readonly=True, copy=False)
    state = fields.Selection(
        [
            ("no_key", "No key"),
            ("active", "Active"),
            ("expired", "Expired"),
            ("revoked", "Revoked"),
        ],
        compute="_compute_state",
    )
    call_log_ids = fields.One2many("g2p.br.api.call.log", "client_id", readonly=True)
    note = fields.Text()

    _sql_constraints = [
        ("key_prefix_uniq", "unique(key_prefix)", "Key prefixes must be unique."),
    ]

    @api.depends("revoked", "expires_at", "key_prefix")
    def _compute_state(self):
        now = fields.Datetime.now()
        for client in self:
            if client.revoked:
                client.state = "revoked"
            elif not client.key_prefix:
                client.state = "no_key"
            elif client.expires_at and client.expires_at <= now:
                client.state = "expired"
            else:
                client.state = "active"

    def action_generate_key(self):
        """Create (or rotate) the key and show it once: only its hash is kept."""
        self.ensure_one()
        key = self._set_new_key()
        return {
            "type": "ir.actions.act_window",
            "res_model": "g2p.br.api.client.key.show",
            "name": _("API key for %s", self.name),
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_key": key},
        }

    def action_revoke(self):
        self.write({"revoked": True, "revoked_at": fields.Datetime.now()})

    def _set_new_key(self, secret=None, prefix=None):
        self.ensure_one()
        if self.revoked:
            raise UserError(_("A revoked client cannot get a new key."))
        prefix = prefix or secrets.token_hex(4)
        secret = secret or secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        self.sudo().write(
            {
                "key_prefix": prefix,
                "key_salt": salt,
                "key_hash": _hash_secret(salt, secret),
                "key_created_at": fields.Datetime.now(),
            }
        )
        return f"brk_{prefix}_{secret}"

    @api.model
    def _authenticate_key(self, key):
        """Return ``(client_id, user_id)`` for a usable ``key``, else ``None``.

        Runs with superuser rights on purpose, like ``fastapi_auth_api_key``
        does: the caller is not authenticated yet, and key hashes are readable
        by system administrators only.  Nothing else is done with those rights:
        the request itself then runs as the client's ``user_id``.
        """
        match = KEY_PATTERN.match(key or "")
        if not match:
            return None
        prefix, secret = match.groups()
        client = (
            self.sudo()
            .with_context(active_test=True)
            .search([("key_prefix", "=", prefix)], limit=1)
        )
        if (
            not client
            or client.revoked
            or not client.key_hash
            or not hmac.compare_digest(
                client.key_hash, _hash_secret(client.key_salt, secret)
            )
        ):
            return None
        now = fields.Datetime.now()
        if client.expires_at and client.expires_at <= now:
            return None
        if not client.user_id.active:
            return None
        if not client.last_used_at or client.last_used_at < now - LAST_USED_RESOLUTION:
            client._touch_last_used(now)
        return client.id, client.user_id.id

    def _touch_last_used(self, now):
        """Record the use of the key, unless a concurrent request of the same
        client is doing it: then skip rather than wait for its lock (and fail
        on a serialization error, retrying the whole request), as it happens
        under load when a minute has passed. Plain SQL: no write() side
        effects (write_date, cache) on a row every request reads."""
        self.ensure_one()
        self.flush_recordset(["last_used_at"])
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM g2p_br_api_client WHERE id = %s "
                    "FOR NO KEY UPDATE NOWAIT",
                    (self.id,),
                )
                self.env.cr.execute(
                    "UPDATE g2p_br_api_client SET last_used_at = %s WHERE id = %s",
                    (now, self.id),
                )
        except (errors.LockNotAvailable, errors.SerializationFailure):
            _logger.debug(
                "last use of API client %s recorded by another request", self.id
            )
        self.invalidate_recordset(["last_used_at"])
