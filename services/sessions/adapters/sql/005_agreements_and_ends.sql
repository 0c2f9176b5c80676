-- Issue #15: a pair's two-way agreement (its words stay here, never in events), the goals sessions advanced, closing
-- reflections and the pair's end. Written by sessions' handlers with their events.
ALTER TABLE sessions ADD COLUMN goals_advanced text[] NOT NULL DEFAULT '{}';

CREATE TABLE agreements (
    pair_id               text NOT NULL,
    version               integer NOT NULL,
    proposed_by           text NOT NULL,
    proposed_at           timestamptz NOT NULL,
    cadence_days          integer NOT NULL,
    duration_weeks        integer NOT NULL,
    confidentiality       text NOT NULL,
    confidentiality_note  text NOT NULL DEFAULT '',   -- private to the pair's members
    signed_by             text[] NOT NULL DEFAULT '{}',
    ends_on               date,                         -- set when both signed: the version is in force
    PRIMARY KEY (pair_id, version)
);

CREATE TABLE agreement_goals (
    pair_id     text NOT NULL,
    version     integer NOT NULL,
    position    integer NOT NULL,
    goal_id     text NOT NULL,
    direction   text NOT NULL,                          -- mentor_to_mentee | mentee_to_mentor
    text        text NOT NULL,                          -- private to the pair's members
    written_by  text NOT NULL,
    PRIMARY KEY (pair_id, version, position),
    FOREIGN KEY (pair_id, version) REFERENCES agreements (pair_id, version) ON DELETE CASCADE
);

CREATE TABLE reflections (
    pair_id               text NOT NULL,
    participant_id        text NOT NULL,
    side                  text NOT NULL,
    learned               text NOT NULL,                -- private to the pair's members
    changed               text NOT NULL,                -- private to the pair's members
    would_recommend       boolean NOT NULL,
    requested_completion  boolean NOT NULL,
    recorded_at           timestamptz NOT NULL,
    PRIMARY KEY (pair_id, participant_id)
);

-- A completed pair (sessions decides it; matching's `pairs` read model only knows formed and dissolved).
CREATE TABLE pair_ends (
    pair_id       text PRIMARY KEY,
    completed_by  text NOT NULL,                        -- members | admin | schedule
    completed_on  date NOT NULL
);
