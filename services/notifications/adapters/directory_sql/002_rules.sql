-- What the rules of issue #17 count from: each program's notification settings (newest settings_version), how
-- each pair stands (ended, agreement in force, flagged), and the proposals still waiting for their answers.
ALTER TABLE programs ADD COLUMN IF NOT EXISTS notifications jsonb NOT NULL DEFAULT '{}';

ALTER TABLE pairs ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'active';  -- active | dissolved | completed
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS ended_at timestamptz;
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS agreed_cadence_days integer;  -- null: no agreement in force yet
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS flagged_at timestamptz;
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS flag_cause text;              -- the PairFlagged's event id
CREATE INDEX IF NOT EXISTS pairs_by_program ON pairs (program_id);
CREATE INDEX IF NOT EXISTS pairs_active ON pairs (pair_id) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS proposals (
    pair_id      text PRIMARY KEY,
    program_id   text NOT NULL,
    mentor_id    text NOT NULL,
    mentee_id    text NOT NULL,
    proposed_at  timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_by  text[] NOT NULL DEFAULT '{}'
);

