from . import (
    fastapi_endpoint,  # noqa: F401
    g2p_br_api_call_log,  # noqa: F401
    g2p_br_api_client,  # noqa: F401
    g2p_br_api_client_key_show,  # noqa: F401
    g2p_br_api_demo,  # noqa: F401
    g2p_br_api_service,  # noqa: F401
)
