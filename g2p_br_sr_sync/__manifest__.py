# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "G2P Beneficiary Registry: Social Registry Sync",
    "summary": "Scheduled, paged, incremental and resumable pull of minimal "
    "demographic data from a Social Registry (DCI sync search API)",
    "version": "17.0.1.1.0",
    "category": "G2P",
    "license": "LGPL-3",
    "author": "G2P Beneficiary Registry contributors",
    "website": "https://github.com/g2p-br/beneficiary-registry",
    "maintainers": ["g2p-br"],
    "development_status": "Alpha",
    "depends": ["g2p_beneficiary_registry", "queue_job"],
    "external_dependencies": {"python": ["requests", "pydantic"]},
    "data": [
        "security/ir.model.access.csv",
        "security/g2p_br_sr_sync_security.xml",
        "data/queue_job_data.xml",
        "data/ir_cron_data.xml",
        "views/g2p_br_sr_connection_views.xml",
        "views/g2p_br_sr_pull_run_views.xml",
        "views/g2p_br_sr_retry_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/g2p_br_sr_connection_demo.xml"],
    "installable": True,
}
