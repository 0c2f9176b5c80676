-- Issue #19: each program's smallest group a report may show (ProgramSettings.min_group_size), per settings
-- version; reports use the latest known, so raising it protects past instants' reports too.
ALTER TABLE program_settings ADD COLUMN min_group_size integer NOT NULL DEFAULT 5;
ALTER TABLE programs ADD COLUMN min_group_size integer NOT NULL DEFAULT 5;
