-- Issue #15: partnerships people agree to. Facts from every new event, counts and categories only: decline
-- reasons' and reflections' words, goals' texts and confidentiality notes stay in matching's and sessions' stores.
-- Each table is keyed so redelivery and cross-topic reordering leave the same rows (see adapters/repository.py).

-- ProgramLaunched (version 1) and ProgramSettingsChanged: every version, so a report as of an instant uses the
-- settings in force then. `programs` keeps the latest version's title, targets and groups (the groups decide who
-- oversees the program now).
CREATE TABLE program_settings (
    program_id        text NOT NULL,
    settings_version  integer NOT NULL,
    title             text NOT NULL,
    cadence_days      integer NOT NULL,
    duration_weeks    integer NOT NULL,
    targets           jsonb NOT NULL,
    admin_groups      text[] NOT NULL,
    sponsor_groups    text[] NOT NULL,
    at                timestamptz NOT NULL,
    PRIMARY KEY (program_id, settings_version)
);
ALTER TABLE programs ADD COLUMN settings_version integer NOT NULL DEFAULT 1;
-- Programs launched before this migration: their launch is version 1 (what a replay would record).
INSERT INTO program_settings
    SELECT program_id, 1, title, cadence_days, duration_weeks, targets, admin_groups, sponsor_groups, at FROM programs;

-- ProgramClosed: the earliest closing.
CREATE TABLE closures (
    program_id  text PRIMARY KEY,
    closed_at   timestamptz NOT NULL,
    at          timestamptz NOT NULL
);

-- PairFormed's origin and, for a pair that waited for acceptance, when it was proposed.
ALTER TABLE pairs
    ADD COLUMN origin       text NOT NULL DEFAULT 'round',
    ADD COLUMN proposed_at  timestamptz;

-- PairDissolved's reason category (its free-text `reason` stays unread by any figure).
ALTER TABLE dissolutions ADD COLUMN reason_code text NOT NULL DEFAULT 'other';

-- SessionHeld's goals advanced (goal ids of the pair's agreement).
ALTER TABLE sessions ADD COLUMN goals_advanced text[] NOT NULL DEFAULT '{}';

-- PairProposed: a proposal waiting for its members' answers (its pair, once started, is in `pairs`).
CREATE TABLE proposals (
    pair_id          text PRIMARY KEY,
    program_id       text NOT NULL,
    round_id         text NOT NULL,
    acceptance_mode  text NOT NULL,
    expires_at       timestamptz NOT NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX proposals_by_program ON proposals (program_id, at);

-- ProposalAccepted and ProposalDeclined: a member's first answer.
CREATE TABLE proposal_answers (
    pair_id         text NOT NULL,
    participant_id  text NOT NULL,
    program_id      text NOT NULL,
    accepted        boolean NOT NULL,
    reason_code     text,                  -- a decline's category; null for an acceptance
    at              timestamptz NOT NULL,
    PRIMARY KEY (pair_id, participant_id)
);
CREATE INDEX proposal_answers_by_program ON proposal_answers (program_id, at);

-- ProposalExpired.
CREATE TABLE proposal_expiries (
    pair_id     text PRIMARY KEY,
    program_id  text NOT NULL,
    at          timestamptz NOT NULL
);

-- CouplePinned, CoupleExcluded, CoupleRuleLifted: one row per event (an admin's rules over time).
CREATE TABLE couple_rules (
    event_id    text PRIMARY KEY,
    program_id  text NOT NULL,
    mentor_id   text NOT NULL,
    mentee_id   text NOT NULL,
    rule        text NOT NULL,             -- pin | exclude
    lifted      boolean NOT NULL,
    at          timestamptz NOT NULL
);

-- AgreementProposed's goals: each goal's direction, as first agreed.
CREATE TABLE agreement_goals (
    pair_id     text NOT NULL,
    goal_id     text NOT NULL,
    program_id  text NOT NULL,
    direction   text NOT NULL,             -- mentor_to_mentee | mentee_to_mentor
    at          timestamptz NOT NULL,
    PRIMARY KEY (pair_id, goal_id)
);
CREATE INDEX agreement_goals_by_program ON agreement_goals (program_id, at);

-- AgreementSigned.
CREATE TABLE agreement_signatures (
    pair_id            text NOT NULL,
    agreement_version  integer NOT NULL,
    signed_by          text NOT NULL,
    program_id         text NOT NULL,
    at                 timestamptz NOT NULL,
    PRIMARY KEY (pair_id, agreement_version, signed_by)
);

-- AgreementInForce: each version both members signed.
CREATE TABLE agreements_in_force (
    pair_id            text NOT NULL,
    agreement_version  integer NOT NULL,
    program_id         text NOT NULL,
    cadence_days       integer NOT NULL,
    duration_weeks     integer NOT NULL,
    ends_on            date NOT NULL,
    at                 timestamptz NOT NULL,
    PRIMARY KEY (pair_id, agreement_version)
);
CREATE INDEX agreements_in_force_by_program ON agreements_in_force (program_id, at);

-- CompletionRequested: a member's request to complete early.
CREATE TABLE completion_requests (
    pair_id         text NOT NULL,
    participant_id  text NOT NULL,
    program_id      text NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (pair_id, participant_id)
);

-- PairCompleted: the earliest completion (distinct from `dissolutions`).
CREATE TABLE completions (
    pair_id       text PRIMARY KEY,
    program_id    text NOT NULL,
    completed_by  text NOT NULL,           -- schedule | members | admin
    completed_on  date NOT NULL,
    at            timestamptz NOT NULL
);

-- ReflectionRecorded: whether each member would recommend (their words stay in sessions).
CREATE TABLE reflections (
    event_id         text PRIMARY KEY,
    program_id       text NOT NULL,
    pair_id          text NOT NULL,
    participant_id   text NOT NULL,
    side             text NOT NULL,
    would_recommend  boolean NOT NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX reflections_by_program ON reflections (program_id, at);
