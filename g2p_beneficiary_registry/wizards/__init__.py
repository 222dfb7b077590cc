from . import bulk_confirm_wizard
from . import bulk_confirm_checks
from . import disbursement_import_wizard
from . import membership_lifecycle_wizard
from . import entitlement_reason_wizard
from . import disbursement_fail_wizard
from . import payment_export_wizard
from . import program_assistant_wizard
