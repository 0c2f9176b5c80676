-- The `pairs` read model, built from matching's events (rebuildable by `tandem replay`).
CREATE TABLE pairs (
    pair_id      text PRIMARY KEY,
    program_id   text NOT NULL,
    mentor_id    text NOT NULL,
    mentee_id    text NOT NULL,
    status       text NOT NULL,            -- active | dissolved
    formed_at    timestamptz NOT NULL,
    dissolved_at timestamptz
);
CREATE INDEX pairs_by_mentor ON pairs (mentor_id);
CREATE INDEX pairs_by_mentee ON pairs (mentee_id);
