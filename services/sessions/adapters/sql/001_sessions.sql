-- Sessions' own state, written in the same transaction as its events.
CREATE TABLE sessions (
    session_id          text PRIMARY KEY,
    pair_id             text NOT NULL,
    held_on             date NOT NULL,
    minutes             integer NOT NULL,
    topics              text[] NOT NULL,
    learning_direction  text NOT NULL,
    notes               text NOT NULL DEFAULT '',   -- private: never published
    logged_by           text NOT NULL,
    logged_at           timestamptz NOT NULL
);
CREATE INDEX sessions_by_pair ON sessions (pair_id, held_on);

CREATE TABLE feedback (
    feedback_id     text PRIMARY KEY,
    pair_id         text NOT NULL,
    given_by        text NOT NULL,
    side            text NOT NULL,
    rating          integer NOT NULL,
    learned         text NOT NULL,
    would_continue  boolean NOT NULL,
    given_at        timestamptz NOT NULL DEFAULT now()
);

-- A retried POST with the same Idempotency-Key (per caller) gets the first answer back instead of a second session.
CREATE TABLE idempotency_keys (
    caller        text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
