-- The `partnerships` read model: the pairs matching formed, from its events (rebuildable by `tandem replay`), so
-- enrolment can introduce a pair's members to each other.
CREATE TABLE partnerships (
    pair_id     text PRIMARY KEY,
    program_id  text NOT NULL,
    mentor_id   text NOT NULL,
    mentee_id   text NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    formed_at   timestamptz NOT NULL
);
CREATE INDEX partnerships_by_mentor ON partnerships (mentor_id) WHERE active;
CREATE INDEX partnerships_by_mentee ON partnerships (mentee_id) WHERE active;
