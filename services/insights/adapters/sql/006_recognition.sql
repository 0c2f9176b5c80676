-- Issue #16: training completed, certificates issued, kudos given and stories shared. Ids and times only: kudos
-- messages and reflections stay with enrolment and sessions. Keyed so a redelivery leaves the same rows.
CREATE TABLE training_completions (
    program_id      text NOT NULL,
    participant_id  text NOT NULL,
    module_id       text NOT NULL,
    module_version  integer NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (program_id, participant_id, module_id, module_version)
);

-- kind: certificate (ref = certificate id), kudos (ref = kudos id, participant = who received it), story and
-- story_withdrawn (ref = the event id: a member's latest choice as of a date says whether they share).
CREATE TABLE recognitions (
    kind            text NOT NULL,
    program_id      text NOT NULL,
    pair_id         text NOT NULL,
    participant_id  text NOT NULL,
    ref             text NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (kind, pair_id, participant_id, ref)
);
CREATE INDEX recognitions_by_program ON recognitions (program_id);
CREATE INDEX training_completions_by_program ON training_completions (program_id);
