-- Schema 1, frozen as release 0.1.0 wrote it. Never edit: tests build old databases from it.
CREATE TABLE meta (key VARCHAR NOT NULL PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE compartment (
            id VARCHAR NOT NULL PRIMARY KEY, in_service BOOLEAN NOT NULL,
            service_reason VARCHAR, door_open BOOLEAN NOT NULL,
            door_open_since VARCHAR, left_open_reported BOOLEAN NOT NULL);
CREATE TABLE reservation (
            id VARCHAR NOT NULL PRIMARY KEY, version INTEGER NOT NULL,
            kind VARCHAR NOT NULL, size VARCHAR NOT NULL, chilled BOOLEAN NOT NULL,
            accessible BOOLEAN NOT NULL, recipient VARCHAR, reference VARCHAR,
            expires_at VARCHAR NOT NULL, state VARCHAR NOT NULL, compartment VARCHAR,
            created_at VARCHAR NOT NULL, updated_at VARCHAR NOT NULL,
            deposit_digest VARCHAR, deposit_sealed VARCHAR, deposit_used BOOLEAN NOT NULL,
            pickup_digest VARCHAR, pickup_sealed VARCHAR, pickup_used BOOLEAN NOT NULL,
            deposited_at VARCHAR, closed_at VARCHAR);
CREATE INDEX ix_reservation_reference ON reservation (reference);
CREATE INDEX ix_reservation_state ON reservation (state);
CREATE INDEX ix_reservation_deposit_digest ON reservation (deposit_digest);
CREATE INDEX ix_reservation_pickup_digest ON reservation (pickup_digest);
CREATE TABLE opening (
            compartment VARCHAR NOT NULL PRIMARY KEY, purpose VARCHAR NOT NULL,
            reservation_id VARCHAR, pulsed_at VARCHAR NOT NULL, attempts INTEGER NOT NULL,
            door_seen_open BOOLEAN NOT NULL);
CREATE TABLE event (
            seq INTEGER NOT NULL PRIMARY KEY, event_id VARCHAR NOT NULL UNIQUE,
            type VARCHAR NOT NULL, at VARCHAR NOT NULL, reservation_id VARCHAR,
            compartment VARCHAR, data VARCHAR NOT NULL, secret_fields VARCHAR NOT NULL,
            sealed_secrets VARCHAR);
CREATE INDEX ix_event_reservation_id ON event (reservation_id);
