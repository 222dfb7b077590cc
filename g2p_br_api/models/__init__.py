# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import (
    fastapi_endpoint,
    g2p_br_api_call_log,
    g2p_br_api_client,
    g2p_br_api_client_key_show,
    g2p_br_api_demo,
    g2p_br_api_read_log,
    g2p_br_api_service,
)
from . import res_lang
from . import res_users
from . import ir_http
from . import feed_indexes
