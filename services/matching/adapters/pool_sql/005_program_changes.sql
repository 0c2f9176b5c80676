-- Issue #15: programs change (ProgramSettingsChanged replaces `launched` with the whole settings, newest version
-- wins) and close (ProgramClosed: no more rounds, previews or manual pairs).
ALTER TABLE pool_programs
    ADD COLUMN IF NOT EXISTS settings_version integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS closed_at timestamptz;
