-- Issue #15: programs change (ProgramSettingsChanged replaces `launched` with the whole settings, newest version
-- wins) and close (ProgramClosed: no more rounds, previews or manual pairs).
ALTER TABLE pool_programs
    ADD COLUMN IF NOT EXISTS settings_version integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS closed_at timestamptz;

-- Pairs sessions completed (PairCompleted): the read model's record; the `completion-ends-pairs` policy ends the
-- pair in matching's own tables.
CREATE TABLE IF NOT EXISTS pool_completed_pairs (
    pair_id       text PRIMARY KEY,
    program_id    text NOT NULL,
    completed_by  text NOT NULL,
    completed_on  date NOT NULL
);
