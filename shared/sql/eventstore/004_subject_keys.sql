-- Per-person keys for crypto-shredding (issue #19 item 1, docs/adr/0012). One row per subject (a participant in a
-- program): its data key, wrapped (AES-GCM) by a master key that never leaves the services' configuration or KMS.
-- Erasure sets `wrapped` to NULL: every field sealed under the key, in every event store, Kafka record, backup and
-- replay, is unreadable from then on. The row stays, so a later event about the subject is sealed as erased too.
--
-- One table for the whole database, in its own schema, created by whichever service's event store migrates first
-- (each service's store applies this file; the lock keeps two doing it at once from racing on the catalogue).
SELECT pg_advisory_xact_lock(hashtext('tandem:keys.subject_keys'));
CREATE SCHEMA IF NOT EXISTS keys;
CREATE TABLE IF NOT EXISTS keys.subject_keys (
    subject        text        PRIMARY KEY,
    wrapped        bytea,                     -- nonce || AES-GCM(master key, data key, aad = subject); NULL: destroyed
    master_key_id  text,                      -- which master key wrapped it (rotation rewraps under the current one)
    created_at     timestamptz NOT NULL DEFAULT now(),
    destroyed_at   timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS subject_keys_by_master ON keys.subject_keys (master_key_id) WHERE wrapped IS NOT NULL;
