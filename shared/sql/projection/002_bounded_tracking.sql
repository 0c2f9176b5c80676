-- Bounded tracking (issue #18, docs/adr/0009): one row per stream a projection has applied, holding the stream's
-- last applied version, instead of one row per event forever. An event whose version is at or below it (a relay's
-- redelivery, a replay, an older version arriving late) is skipped. Written in the same transaction as the
-- read-model change it accounts for.
CREATE TABLE projection_streams (
    projection    text   NOT NULL,
    source        text   NOT NULL,  -- the publisher (ce_source): stream ids are unique within one event store
    stream_id     text   NOT NULL,
    last_version  bigint NOT NULL,
    PRIMARY KEY (projection, source, stream_id)
) WITH (fillfactor = 70);  -- room on each page, so the per-batch version updates stay HOT (no index write)

-- The per-event ids recorded before this migration carry no stream or version, so the new table cannot be derived
-- from them in SQL. They are kept, read-only, under a name that says so: the runner consults them only for a
-- stream it has no row for yet, and records that stream's version as soon as it meets one of its events, so each
-- stream's first post-upgrade event derives its row (ADR 0009). Nothing writes here any more.
ALTER TABLE projection_applied_events RENAME TO projection_applied_events_legacy;
