-- Insights' read model: one row per fact, stamped `at` with its event's time (CloudEvents `time`). Figures are
-- computed at query time from these, so facts from different topics may arrive in any order and a report can be
-- computed as of any past instant. Rows hold only event data (no now(), no serials): a replay rebuilds them
-- identically.
CREATE TABLE programs (
    program_id      text PRIMARY KEY,
    title           text NOT NULL,
    cadence_days    integer NOT NULL,
    duration_weeks  integer NOT NULL,
    targets         jsonb NOT NULL,
    at              timestamptz NOT NULL
);

-- ParticipantEnrolled and ParticipantProfileUpdated: the profile as of `at`.
CREATE TABLE profiles (
    event_id        text PRIMARY KEY,
    program_id      text NOT NULL,
    participant_id  text NOT NULL,
    kind            text NOT NULL,         -- enrolled | updated
    role            text NOT NULL,
    department      text NOT NULL,
    birth_year      integer NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX profiles_by_program ON profiles (program_id, at);

CREATE TABLE withdrawals (
    program_id      text NOT NULL,
    participant_id  text NOT NULL,
    reason          text NOT NULL,
    at              timestamptz NOT NULL,  -- the earliest withdrawal, whatever order they arrive in
    PRIMARY KEY (program_id, participant_id)
);

CREATE TABLE pairs (
    pair_id         text PRIMARY KEY,
    program_id      text NOT NULL,
    mentor_id       text NOT NULL,
    mentee_id       text NOT NULL,
    score           double precision NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX pairs_by_program ON pairs (program_id, at);

CREATE TABLE dissolutions (
    pair_id         text PRIMARY KEY,
    program_id      text NOT NULL,
    reason          text NOT NULL,
    at              timestamptz NOT NULL   -- the earliest dissolution
);

CREATE TABLE sessions (
    session_id          text PRIMARY KEY,
    program_id          text NOT NULL,
    pair_id             text NOT NULL,
    held_on             date NOT NULL,
    minutes             integer NOT NULL,
    topics              text[] NOT NULL,
    learning_direction  text NOT NULL,
    at                  timestamptz NOT NULL
);
CREATE INDEX sessions_by_program ON sessions (program_id, at);

CREATE TABLE feedback (
    feedback_id     text PRIMARY KEY,
    program_id      text NOT NULL,
    pair_id         text NOT NULL,
    side            text NOT NULL,         -- mentor | mentee
    rating          integer NOT NULL,
    would_continue  boolean NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX feedback_by_program ON feedback (program_id, at);
