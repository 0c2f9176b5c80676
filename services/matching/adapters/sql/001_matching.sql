-- The pool (pool_programs, pool_candidates) is the `pool` projection's read model: adapters/pool_sql/.
-- Matching's own state, written with its events in one transaction.
CREATE TABLE rounds (
    round_id        text PRIMARY KEY,
    program_id      text NOT NULL,
    committed_at    timestamptz NOT NULL DEFAULT now(),
    engine_version  text NOT NULL,
    inputs_hash     text NOT NULL,
    pairs_formed    integer NOT NULL,
    unmatched       jsonb NOT NULL
);

CREATE TABLE pairs (
    pair_id          text PRIMARY KEY,
    program_id       text NOT NULL,
    round_id         text NOT NULL REFERENCES rounds,
    mentor_id        text NOT NULL,
    mentee_id        text NOT NULL,
    score            double precision NOT NULL,
    breakdown        jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'active',   -- active | dissolved
    formed_at        timestamptz NOT NULL DEFAULT now(),
    dissolved_at     timestamptz,
    dissolve_reason  text,
    version          integer NOT NULL DEFAULT 1
);
CREATE INDEX pairs_by_program ON pairs (program_id, status);
CREATE INDEX pairs_by_mentor ON pairs (program_id, mentor_id) WHERE status = 'active';
CREATE INDEX pairs_by_mentee ON pairs (program_id, mentee_id) WHERE status = 'active';
