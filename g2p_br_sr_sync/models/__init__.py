# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import (
    g2p_br_beneficiary,
    g2p_br_sr_connection,
    g2p_br_sr_field_mapping,
    g2p_br_sr_pull_error,
    g2p_br_sr_pull_page,
    g2p_br_sr_pull_run,
    g2p_br_sr_retry,
)
