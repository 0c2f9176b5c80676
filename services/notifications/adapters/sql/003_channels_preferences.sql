-- Issue #17, delivery: a program's destinations, each person's preferences, and digests.

-- Where a program's notifications go besides participants' e-mail. The URLs and the signing secret are secrets
-- (an incoming-webhook URL is its own credential): kept only here, masked when read back, never in an event.
CREATE TABLE program_channels (
    program_id      text PRIMARY KEY,
    admin_emails    text[] NOT NULL DEFAULT '{}',  -- team mailboxes of the program's admins
    slack_url       text,
    teams_url       text,
    webhook_url     text,
    webhook_secret  text,                          -- HMAC-SHA256 key of the generic webhook's signatures
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A participant's say in how they are notified (domain/preferences.py). No row: e-mail, immediately, no quiet hours.
CREATE TABLE preferences (
    participant_id  text PRIMARY KEY,
    channel         text NOT NULL DEFAULT 'email',         -- email | slack | teams | webhook
    delivery        text NOT NULL DEFAULT 'immediate',     -- immediate | daily-digest
    quiet_start     time,                                  -- local wall-clock time, in the person's time zone
    quiet_end       time,
    unsubscribed    boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A notification batched into a person's daily digest: status 'digested' and the digest's id; the digest's own
-- NotificationSent / NotificationFailed is their delivery. 'suppressed': its person had unsubscribed.
ALTER TABLE notifications ADD COLUMN digest_id uuid;
CREATE INDEX notifications_by_digest ON notifications (digest_id) WHERE digest_id IS NOT NULL;
