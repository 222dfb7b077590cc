# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "G2P Beneficiary Registry: REST API",
    "summary": "Authenticated REST API (FastAPI) over enrollments, entitlements "
    "and disbursements, with DCI IBR interoperability",
    "version": "17.0.1.0.0",
    "category": "G2P",
    "license": "LGPL-3",
    "author": "G2P Beneficiary Registry contributors",
    "website": "https://github.com/g2p-br/beneficiary-registry",
    "maintainers": ["g2p-br"],
    "development_status": "Alpha",
    "depends": ["fastapi", "g2p_beneficiary_registry"],
    "external_dependencies": {"python": ["fastapi", "pydantic"]},
    "data": [
        "security/g2p_br_api_groups.xml",
        "security/ir.model.access.csv",
        "security/g2p_br_api_security.xml",
        "data/fastapi_endpoint_data.xml",
        "data/ir_cron_data.xml",
        "views/g2p_br_api_client_views.xml",
        "views/g2p_br_api_call_log_views.xml",
        "views/g2p_br_api_read_log_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/g2p_br_api_demo.xml"],
    "installable": True,
}
