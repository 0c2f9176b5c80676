-- Issue #14: consent as its own fact, invitations, goals a participant chooses to share with their partner.
ALTER TABLE participants ADD COLUMN share_goals boolean NOT NULL DEFAULT false;
CREATE INDEX participants_by_person ON participants (participant_id);

-- One row per person, program and version of the program's wording they consented to (issue #15 edits wordings).
CREATE TABLE consents (
    program_id       text NOT NULL,
    participant_id   text NOT NULL,
    wording_version  integer NOT NULL,
    wording_sha256   text NOT NULL,
    given_at         timestamptz NOT NULL,
    withdrawn_at     timestamptz,
    PRIMARY KEY (program_id, participant_id, wording_version)
);

CREATE TABLE invitations (
    program_id      text NOT NULL REFERENCES programs,
    participant_id  text NOT NULL,
    invited_at      timestamptz NOT NULL,
    PRIMARY KEY (program_id, participant_id)
);
CREATE INDEX invitations_by_person ON invitations (participant_id);
