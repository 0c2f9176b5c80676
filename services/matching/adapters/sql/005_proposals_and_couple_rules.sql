-- Issue #15: pairs are proposed before they start (per the program's acceptance mode), formed by an admin by
-- hand, and end completed as well as dissolved. status: proposed | active | dissolved | declined | expired | completed.
-- A manual pair names no round (round_id `manual-<uuid>`), so pairs no longer reference `rounds`.
ALTER TABLE pairs DROP CONSTRAINT IF EXISTS pairs_round_id_fkey;
ALTER TABLE pairs
    ADD COLUMN origin           text NOT NULL DEFAULT 'round',       -- round | manual
    ADD COLUMN acceptance_mode  text NOT NULL DEFAULT 'immediate',   -- the program's, when the pair was proposed
    ADD COLUMN proposed_at      timestamptz,
    ADD COLUMN expires_at       timestamptz,
    ADD COLUMN mentor_answer    text,                                -- accepted | declined
    ADD COLUMN mentee_answer    text,
    ADD COLUMN engine_version   text NOT NULL DEFAULT '',
    ADD COLUMN inputs_hash      text NOT NULL DEFAULT '';
-- The expiry schedule's scan, and a participant's open proposals.
CREATE INDEX pairs_open_proposals ON pairs (expires_at) WHERE status = 'proposed';
CREATE INDEX pairs_proposed_mentor ON pairs (mentor_id) WHERE status = 'proposed';
CREATE INDEX pairs_proposed_mentee ON pairs (mentee_id) WHERE status = 'proposed';

-- The decliner's own words stay here, never in an event or a log line; the event carries reason_code only.
CREATE TABLE proposal_declines (
    pair_id         text PRIMARY KEY REFERENCES pairs,
    participant_id  text NOT NULL,
    reason_code     text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    declined_at     timestamptz NOT NULL DEFAULT now()
);

-- An admin's pins (pair them when every hard rule allows) and exclusions (never pair them).
CREATE TABLE couple_rules (
    program_id  text NOT NULL,
    mentor_id   text NOT NULL,
    mentee_id   text NOT NULL,
    rule        text NOT NULL CHECK (rule IN ('pin', 'exclude')),
    set_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, mentor_id, mentee_id, rule)
);
