-- Notifications' own state (not rebuilt by a replay: each row is a decision, made once per cause).

-- One row per notification, recorded before it is sent, in the transaction that applied its cause. The primary
-- key is derived from the cause (domain/model.py), so a redelivered event or a second replica adds nothing.
CREATE TABLE notifications (
    notification_id  uuid PRIMARY KEY,
    rule             text NOT NULL,
    cause_event_id   text NOT NULL,
    audience         text NOT NULL DEFAULT 'participant', -- participant | program-admins
    participant_id   text,                                -- null when the audience is the program's admins
    program_id       text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL DEFAULT 'pending',   -- pending | sent | dead
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,                               -- a class of failure, never an address or a message
    context          jsonb NOT NULL DEFAULT '{}',         -- ids and facts of the cause; no personal data
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_by_program ON notifications (program_id, recorded_at);

-- Contact details from enrolment's compacted contacts topic (docs/adr/0008): personal data, kept only here, and
-- deleted when the topic's tombstone for the person arrives.
CREATE TABLE contacts (
    participant_id  text PRIMARY KEY,
    display_name    text NOT NULL,
    email           text NOT NULL,
    time_zone       text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A SessionHeld whose pair this service has not heard of yet (matching's and sessions' topics are read side by
-- side, so the pair's PairFormed may come later): its feedback prompts are recorded when the pair arrives.
CREATE TABLE sessions_awaiting_pair (
    cause_event_id  text PRIMARY KEY,
    pair_id         text NOT NULL,
    held_on         date NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_awaiting_by_pair ON sessions_awaiting_pair (pair_id);
