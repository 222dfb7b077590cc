# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""17.0.1.1.0: the cursor follows the SR's own timestamps; the page jobs run in
root.g2p_br.sr_sync (was root.br_sr_sync).

Before, a connection's cursor was the start of its last successful run on the
BR's clock minus the overlap. Compared with the SR's ``last_updated`` values,
it skipped every change when the SR's timestamps lag the BR's clock. Such a
cursor cannot be translated to the SR's time scale, so it is cleared: the next
incremental pull of each connection asks for every registrant once (records
that did not change are not rewritten) and sets a cursor from the SR's data.
The runs' former candidates are cleared as well (they were on the BR's clock).
"""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    # the channel root.br_sr_sync became root.g2p_br.sr_sync (its record is
    # noupdate): rename it and hang it under the registry's channel
    cr.execute(
        SQL(
            """
            UPDATE queue_job_channel c
               SET name = 'sr_sync', parent_id = p.res_id
              FROM ir_model_data d, ir_model_data p
             WHERE d.module = 'g2p_br_sr_sync'
               AND d.name = 'queue_job_channel_br_sr_sync'
               AND c.id = d.res_id
               AND p.module = 'g2p_beneficiary_registry'
               AND p.name = 'queue_job_channel_br'
            """
        )
    )
    cr.execute(
        SQL(
            "UPDATE g2p_br_sr_connection SET cursor = NULL"
            " WHERE cursor IS NOT NULL RETURNING id"
        )
    )
    cleared = [row[0] for row in cr.fetchall()]
    cr.execute(
        SQL(
            "UPDATE g2p_br_sr_pull_run SET cursor_candidate = NULL"
            " WHERE cursor_candidate IS NOT NULL AND state <> 'running'"
        )
    )
    _logger.info(
        "g2p_br_sr_sync 17.0.1.1.0: cursor cleared on %d SR connections %s (it was "
        "on the BR's clock; the next incremental pull reads every registrant once)",
        len(cleared),
        cleared,
    )
