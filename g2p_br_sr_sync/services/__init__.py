"""Plain Python parts of the sync (no ORM): DCI client, record mapping, schemas."""
