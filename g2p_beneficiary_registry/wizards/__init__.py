from . import bulk_confirm_wizard
from . import disbursement_import_wizard
