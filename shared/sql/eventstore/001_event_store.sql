-- A service's event store: the append-only log of its aggregates' events, which doubles as the outbox
-- (the relay publishes rows in `position` order and records how far it got in relay_cursor).
CREATE TABLE events (
    position     bigserial   PRIMARY KEY,
    stream_id    text        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    event_id     uuid        NOT NULL UNIQUE,
    type         text        NOT NULL,
    data         jsonb       NOT NULL,
    metadata     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at  timestamptz NOT NULL,
    prev_hash    text        NOT NULL,   -- the stream's previous event's hash (GENESIS for version 1)
    hash         text        NOT NULL,   -- sha256(prev_hash | canonical event): see shared/chain.py
    -- optimistic concurrency: two writers cannot both create version N of one stream
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);

CREATE TABLE relay_cursor (
    topic          text   PRIMARY KEY,
    last_position  bigint NOT NULL
);
