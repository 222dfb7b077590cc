from . import test_connection, test_record_mapping, test_sync_e2e
