-- Issue #16: recognition that lasts. A certificate per member of a completed pair (its PDF is made on request
-- from these rows and the participants'), and kudos between partners with their message, which never leaves here.
CREATE TABLE certificates (
    certificate_id     text PRIMARY KEY,
    program_id         text NOT NULL,
    pair_id            text NOT NULL,
    participant_id     text NOT NULL,
    partner_id         text NOT NULL,
    role               text NOT NULL CHECK (role IN ('mentor', 'mentee')),
    completed_on       date NOT NULL,
    verification_code  text NOT NULL UNIQUE,
    issued_at          timestamptz NOT NULL,
    UNIQUE (pair_id, participant_id)          -- once per member
);
CREATE INDEX certificates_by_person ON certificates (participant_id);
CREATE INDEX certificates_by_program ON certificates (program_id);

CREATE TABLE kudos (
    kudos_id    text PRIMARY KEY,
    program_id  text NOT NULL,
    pair_id     text NOT NULL,
    given_by    text NOT NULL,
    given_to    text NOT NULL,
    message     text NOT NULL,
    given_at    timestamptz NOT NULL
);
CREATE INDEX kudos_by_pair ON kudos (pair_id);
CREATE INDEX kudos_by_giver ON kudos (given_by);
CREATE INDEX kudos_by_receiver ON kudos (given_to);
CREATE INDEX kudos_by_program ON kudos (program_id);
