-- The eligible population HR imports (issue #14). Personal data: it lives only here and in participants.
CREATE TABLE roster (
    employee_id      text PRIMARY KEY,
    display_name     text NOT NULL,
    email            text NOT NULL,
    department       text NOT NULL,
    grade            integer NOT NULL,
    manager_id       text,
    languages        text[] NOT NULL DEFAULT '{}',
    time_zone        text NOT NULL DEFAULT 'UTC',
    reporting_chain  text[] NOT NULL DEFAULT '{}',   -- employee ids up the line, nearest first (derived)
    active           boolean NOT NULL DEFAULT true,
    user_name        text,                            -- the identity provider's login name (SCIM), echoed back
    pseudonym        text NOT NULL DEFAULT '',        -- the participant id; SCIM's `id` of the person
    imported_at      timestamptz NOT NULL DEFAULT now(),  -- first written: the roster's listing order
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roster_by_pseudonym ON roster (pseudonym);
CREATE INDEX roster_by_user_name ON roster (user_name);
