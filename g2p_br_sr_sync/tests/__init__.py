from . import (
    test_connection,
    test_record_mapping,
    test_sync_concurrency,
    test_sync_correctness,
    test_sync_e2e,
)
