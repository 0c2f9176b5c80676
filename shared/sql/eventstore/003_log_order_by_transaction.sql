-- Appends no longer take one lock per store (docs/adr/0010-write-path-without-a-global-lock.md). A reader that
-- follows the log therefore orders it by (log_xid, position) and reads only rows whose log_xid is below the oldest
-- transaction still running (pg_snapshot_xmin(pg_current_snapshot())): every row committed later has a log_xid at
-- or above that horizon, so the reader never moves past a late commit.
-- log_xid = greatest(the appending transaction's id, the stream's previous event's log_xid): the max keeps one
-- stream's versions in log order when an older transaction appends after a younger one committed to that stream.
-- Rows recorded before this migration were all committed under the old lock, in position order: log_xid 0 keeps them
-- in that order and ahead of everything appended from now on.
ALTER TABLE events ADD COLUMN log_xid xid8 NOT NULL DEFAULT '0';
-- A row written by other means than EventStore.append (an operator's repair, a test's forgery) gets its own
-- transaction's id: never below the horizon while that transaction runs, which is all a follower needs.
ALTER TABLE events ALTER COLUMN log_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_log_order ON events (log_xid, position);

-- The relay's cursor becomes the pair; an existing cursor (0, last_position) points into the pre-migration rows.
ALTER TABLE relay_cursor ADD COLUMN last_xid xid8 NOT NULL DEFAULT '0';
