# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import selection_wizard_mixin
from . import bulk_confirm_wizard
from . import bulk_confirm_checks
from . import disbursement_import_wizard
from . import membership_lifecycle_wizard
from . import entitlement_reason_wizard
from . import disbursement_fail_wizard
from . import payment_export_wizard
from . import program_assistant_wizard
