from . import (
    g2p_br_beneficiary,
    g2p_br_sr_connection,
    g2p_br_sr_field_mapping,
    g2p_br_sr_pull_error,
    g2p_br_sr_pull_page,
    g2p_br_sr_pull_run,
    g2p_br_sr_retry,
)
