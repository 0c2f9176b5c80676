-- Enrolment's current state, written in the same transaction as the events that change it.
CREATE TABLE programs (
    program_id   text PRIMARY KEY,
    launched     jsonb NOT NULL,           -- the ProgramLaunched event's body
    launched_at  timestamptz NOT NULL DEFAULT now()
);

-- Personal details (employee_id, display_name, email, goals) live only here, where they can be erased.
CREATE TABLE participants (
    program_id      text NOT NULL REFERENCES programs,
    participant_id  text NOT NULL,
    employee_id     text NOT NULL,
    display_name    text NOT NULL,
    email           text NOT NULL,
    goals           text NOT NULL DEFAULT '',
    profile         jsonb NOT NULL,        -- the public profile, as in ParticipantEnrolled
    status          text NOT NULL DEFAULT 'active',
    version         integer NOT NULL,
    enrolled_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, participant_id),
    UNIQUE (program_id, employee_id)
);
CREATE INDEX participants_by_program ON participants (program_id, enrolled_at, participant_id);
