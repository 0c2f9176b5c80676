-- Tracking records of the projections in this schema, written in the same transaction as the read-model
-- change they account for (ARCHITECTURE §2): where to resume, and which events already took effect.
CREATE TABLE projection_offsets (
    projection   text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);

CREATE TABLE projection_applied_events (
    projection  text NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (projection, event_id)
);
