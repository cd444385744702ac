"""Versioned schema. Each step takes the database from version N-1 to N.

The steps are plain SQL so that a database made by any earlier release opens
without loss: the service runs the missing steps, in order, in one
transaction, at start. ``tests/test_migrations.py`` checks that the result
matches the sqlmodel tables column for column.
"""

from __future__ import annotations

import sqlite3

STEPS: list[list[str]] = [
    # 1: the first schema
    [
        "CREATE TABLE meta (key VARCHAR NOT NULL PRIMARY KEY, value VARCHAR NOT NULL)",
        """CREATE TABLE compartment (
            id VARCHAR NOT NULL PRIMARY KEY, in_service BOOLEAN NOT NULL,
            service_reason VARCHAR, door_open BOOLEAN NOT NULL,
            door_open_since VARCHAR, left_open_reported BOOLEAN NOT NULL)""",
        """CREATE TABLE reservation (
            id VARCHAR NOT NULL PRIMARY KEY, version INTEGER NOT NULL,
            kind VARCHAR NOT NULL, size VARCHAR NOT NULL, chilled BOOLEAN NOT NULL,
            accessible BOOLEAN NOT NULL, recipient VARCHAR, reference VARCHAR,
            expires_at VARCHAR NOT NULL, state VARCHAR NOT NULL, compartment VARCHAR,
            created_at VARCHAR NOT NULL, updated_at VARCHAR NOT NULL,
            deposit_digest VARCHAR, deposit_sealed VARCHAR, deposit_used BOOLEAN NOT NULL,
            pickup_digest VARCHAR, pickup_sealed VARCHAR, pickup_used BOOLEAN NOT NULL,
            deposited_at VARCHAR, closed_at VARCHAR)""",
        "CREATE INDEX ix_reservation_reference ON reservation (reference)",
        "CREATE INDEX ix_reservation_state ON reservation (state)",
        "CREATE INDEX ix_reservation_deposit_digest ON reservation (deposit_digest)",
        "CREATE INDEX ix_reservation_pickup_digest ON reservation (pickup_digest)",
        """CREATE TABLE opening (
            compartment VARCHAR NOT NULL PRIMARY KEY, purpose VARCHAR NOT NULL,
            reservation_id VARCHAR, pulsed_at VARCHAR NOT NULL, attempts INTEGER NOT NULL,
            door_seen_open BOOLEAN NOT NULL)""",
        """CREATE TABLE event (
            seq INTEGER NOT NULL PRIMARY KEY, event_id VARCHAR NOT NULL UNIQUE,
            type VARCHAR NOT NULL, at VARCHAR NOT NULL, reservation_id VARCHAR,
            compartment VARCHAR, data VARCHAR NOT NULL, secret_fields VARCHAR NOT NULL,
            sealed_secrets VARCHAR)""",
        "CREATE INDEX ix_event_reservation_id ON event (reservation_id)",
    ],
    # 2: lockouts survive restarts; server commands are remembered; the outbox
    # learns which events the broker has acknowledged.
    [
        "CREATE TABLE terminal (key VARCHAR NOT NULL PRIMARY KEY, state VARCHAR NOT NULL)",
        "CREATE TABLE command (request_id VARCHAR NOT NULL PRIMARY KEY, at VARCHAR NOT NULL)",
        "ALTER TABLE event ADD COLUMN sent_at VARCHAR",
        "CREATE INDEX ix_event_unsent ON event (seq) WHERE sent_at IS NULL",
    ],
    # 3: a repeated server command is answered the way the first one was.
    [
        "ALTER TABLE command ADD COLUMN command VARCHAR",
        "ALTER TABLE command ADD COLUMN outcome VARCHAR",
        "ALTER TABLE command ADD COLUMN reason VARCHAR",
    ],
    # 4: chilled zones, their readings, and the cold chain of the items inside.
    [
        "ALTER TABLE reservation ADD COLUMN held_reason VARCHAR",
        "ALTER TABLE reservation ADD COLUMN cold VARCHAR",
        "ALTER TABLE reservation ADD COLUMN dwell_until VARCHAR",
        "CREATE TABLE zone (id VARCHAR NOT NULL PRIMARY KEY, state VARCHAR NOT NULL)",
        """CREATE TABLE temperature (
            id INTEGER NOT NULL PRIMARY KEY, zone VARCHAR NOT NULL, at VARCHAR NOT NULL,
            celsius FLOAT, fault VARCHAR, min_c FLOAT, max_c FLOAT,
            samples INTEGER NOT NULL, bucket_s INTEGER NOT NULL)""",
        "CREATE INDEX ix_temperature_zone_at ON temperature (zone, at)",
    ],
    # 5: a carer's code beside the resident's, and which of them collected.
    [
        "ALTER TABLE reservation ADD COLUMN delegate BOOLEAN NOT NULL DEFAULT 0",
        "ALTER TABLE reservation ADD COLUMN delegate_digest VARCHAR",
        "ALTER TABLE reservation ADD COLUMN delegate_sealed VARCHAR",
        "ALTER TABLE reservation ADD COLUMN delegate_used BOOLEAN NOT NULL DEFAULT 0",
        "ALTER TABLE reservation ADD COLUMN collected_by VARCHAR",
        "CREATE INDEX ix_reservation_delegate_digest ON reservation (delegate_digest)",
    ],
    # 6: fair time: the server's own deadline, time given back to an item, its
    # reminder sent, since when a compartment is out of service.
    [
        "ALTER TABLE reservation ADD COLUMN due_at VARCHAR",
        "ALTER TABLE reservation ADD COLUMN credit_s FLOAT NOT NULL DEFAULT 0",
        "ALTER TABLE reservation ADD COLUMN reminded_at VARCHAR",
        "ALTER TABLE compartment ADD COLUMN out_since VARCHAR",
    ],
    # 7: what each compartment's last commissioning found (issue 18).
    [
        "ALTER TABLE compartment ADD COLUMN commission VARCHAR",
        "ALTER TABLE compartment ADD COLUMN commissioned_at VARCHAR",
    ],
    # 8: the retention sweep's two lookups (issue 19), each an index range: the ended
    # reservations that still hold personal data (they leave the index once erased),
    # and the events by age.
    [
        "CREATE INDEX ix_reservation_personal ON reservation (closed_at) "
        "WHERE recipient IS NOT NULL OR reference IS NOT NULL",
        "CREATE INDEX ix_event_at ON event (at)",
    ],
]

LATEST = len(STEPS)
SECURE_DELETE = 8  # files of earlier releases were written without secure_delete


def scrub(conn: sqlite3.Connection) -> None:
    """Rewrite a file written without ``secure_delete`` (issue 19): the old copies of
    rows that its free pages and free blocks may hold, a recipient among them, are
    gone from the file and from its write-ahead log. Once, after the upgrade."""
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the database to ``target``; answer the version it was at.

    Refuses a database written by a newer release rather than guess.
    """
    found = current_version(conn)
    if found > LATEST:
        raise RuntimeError(
            f"database schema {found} is newer than this release knows ({LATEST}): "
            "upgrade the software or restore a backup"
        )
    if found >= target:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in range(found + 1, target + 1):
            for statement in STEPS[version - 1]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
