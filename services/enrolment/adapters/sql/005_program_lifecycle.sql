-- Issue #15: programs are edited and closed. `launched` now holds the program's settings as they stand (the
-- ProgramSettings body of its last ProgramLaunched or ProgramSettingsChanged); `version` is its event stream's.
ALTER TABLE programs
    ADD COLUMN settings_version integer NOT NULL DEFAULT 1,
    ADD COLUMN consent_version  integer NOT NULL DEFAULT 1,
    ADD COLUMN closed_at        timestamptz,
    ADD COLUMN version          integer NOT NULL DEFAULT 1;
