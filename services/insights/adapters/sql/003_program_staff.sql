-- Issue #14: who runs and who sponsors each program (ProgramLaunched's groups), read by shared/program_staff.py.
-- Programs recorded before this migration name no group (every program admin runs them) until a replay.
ALTER TABLE programs
    ADD COLUMN admin_groups    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN sponsor_groups  text[] NOT NULL DEFAULT '{}';
