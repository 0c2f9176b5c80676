-- The `directory` read model (rebuildable by `tandem replay`): programs' title and rhythm, pairs' members.
CREATE TABLE IF NOT EXISTS programs (
    program_id        text PRIMARY KEY,
    title             text NOT NULL,
    cadence_days      integer NOT NULL,
    duration_weeks    integer NOT NULL,
    settings_version  integer NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS pairs (
    pair_id     text PRIMARY KEY,
    program_id  text NOT NULL,
    mentor_id   text NOT NULL,
    mentee_id   text NOT NULL,
    formed_at   timestamptz NOT NULL,
    last_session_on  date            -- the latest SessionHeld's held_on
);
