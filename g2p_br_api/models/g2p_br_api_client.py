# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import timedelta

from psycopg2 import errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger

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
LAST_USED_RESOLUTION_SECONDS = LAST_USED_RESOLUTION.total_seconds()
# when each client's last use was last recorded by this worker
_LAST_TOUCH = {}
# a cached key entry is reread at least this often (see _key_entry)
KEY_CACHE_SECONDS = 60
# fields whose change may refuse a key the cache still accepts
KEY_FIELDS = {
    "active",
    "revoked",
    "expires_at",
    "key_prefix",
    "key_salt",
    "key_hash",
    "user_id",
}


class _UnknownKey(LookupError):
    """No usable client for a key prefix."""


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
    @tools.ormcache("prefix", "period")
    def _key_entry(self, prefix, period):
        """What authenticating a key of this prefix needs, in one query:
        ``(client_id, user_id, key_hash, key_salt, expires_at, company_ids)``
        of an active, unrevoked client with a key and an active user; raises
        ``_UnknownKey`` otherwise (an exception is not cached).

        Cached per worker (Odoo's ormcache) for at most ``KEY_CACHE_SECONDS``
        (``period`` changes with the clock). Any change that may refuse the key
        (revocation, rotation, archiving, expiry date, the user's archiving or
        companies) clears the cache at once in this worker, and in the other
        workers at their next request (Odoo's registry cache signaling).
        Expiry itself is checked on every request against the cached date.
        SQL on purpose: the key hashes are readable by system administrators
        only, and this runs before the caller is known.
        """
        # changes of this transaction (none in a request: no query then)
        self.flush_model()
        self.env["res.users"].flush_model(["active", "company_ids"])
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id, c.user_id, c.key_hash, c.key_salt, c.expires_at,
                       ARRAY(SELECT r.cid FROM res_company_users_rel r
                              WHERE r.user_id = c.user_id ORDER BY r.cid)
                  FROM g2p_br_api_client c
                  JOIN res_users u ON u.id = c.user_id AND u.active
                 WHERE c.key_prefix = %s AND c.active
                   AND NOT COALESCE(c.revoked, FALSE) AND c.key_hash IS NOT NULL
                """,
                prefix,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            # not cached: random prefixes must not fill (and evict) Odoo's cache
            raise _UnknownKey(prefix)
        return (*row[:5], tuple(row[5]))

    @api.model
    def _authenticate_key(self, key):
        """Return ``(client_id, user_id, company_ids)`` for a usable ``key``,
        else ``None``. No query on a warm cache (see ``_key_entry``).

        Key hashes are read without access rights on purpose, like
        ``fastapi_auth_api_key`` does: the caller is not authenticated yet.
        Nothing else is done with those rights: the request itself then runs
        as the client's ``user_id``.
        """
        match = KEY_PATTERN.match(key or "")
        if not match:
            return None
        prefix, secret = match.groups()
        try:
            entry = self._key_entry(prefix, int(time.time() // KEY_CACHE_SECONDS))
        except _UnknownKey:
            return None
        client_id, user_id, key_hash, salt, expires_at, company_ids = entry
        if not hmac.compare_digest(key_hash, _hash_secret(salt, secret)):
            return None
        now = fields.Datetime.now()
        if expires_at and expires_at <= now:
            return None
        last = _LAST_TOUCH.get(client_id)
        if last is None or time.monotonic() - last > LAST_USED_RESOLUTION_SECONDS:
            _LAST_TOUCH[client_id] = time.monotonic()
            self.browse(client_id)._touch_last_used(now)
        return client_id, user_id, company_ids

    @api.model
    def _clear_key_cache(self):
        """Refuse at once, in every worker, keys the cache may still accept."""
        self.env.registry.clear_cache()

    def write(self, vals):
        result = super().write(vals)
        if KEY_FIELDS.intersection(vals):
            self._clear_key_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self._clear_key_cache()
        return result

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
