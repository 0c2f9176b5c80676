-- Events the relay could not publish (the producer or broker refused the record itself: too large, not encodable),
-- set aside so the rest of the log flows on; later events of the same stream are held here behind them, so a
-- consumer never sees a stream's events out of order. `tandem parked` lists, re-drives or skips them; each
-- resolution is recorded in parked_events_audit. Error texts name sizes and limits, never event content.
CREATE TABLE parked_events (
    position     bigint      PRIMARY KEY,
    event_id     uuid        NOT NULL,
    stream_id    text        NOT NULL,
    topic        text        NOT NULL,
    error_class  text        NOT NULL,          -- e.g. MessageSizeTooLargeError, or HeldBehindParkedEvent
    error_text   text        NOT NULL,
    held_behind  bigint,                        -- the parked position of the same stream this one waits for
    parked_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,                   -- NULL while parked
    resolution   text CHECK (resolution IN ('redriven', 'skipped'))
);
CREATE INDEX parked_events_open ON parked_events (topic, stream_id, position) WHERE resolved_at IS NULL;

CREATE TABLE parked_events_audit (
    id        bigserial   PRIMARY KEY,
    position  bigint      NOT NULL,
    event_id  uuid        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('redriven', 'skipped', 'redrive failed')),
    actor     text        NOT NULL,             -- an operator id or ticket reference, not a name
    reason    text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
