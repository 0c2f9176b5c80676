-- Issue #17: a program's branding of its e-mails (program words, no personal data), set by its admins.
CREATE TABLE program_branding (
    program_id     text PRIMARY KEY,
    brand     text NOT NULL DEFAULT '',
    accent_colour  text NOT NULL,
    footer         text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);
