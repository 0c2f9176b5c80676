-- Issue #16: a member's opt-in to share its closing reflection as a story for internal comms. Withdrawing it (share
-- = false) is kept here only: the reflection's words never leave sessions except through the admins' story read.
CREATE TABLE story_optins (
    pair_id         text NOT NULL,
    participant_id  text NOT NULL,
    share           boolean NOT NULL,
    changed_at      timestamptz NOT NULL,
    PRIMARY KEY (pair_id, participant_id)
);
