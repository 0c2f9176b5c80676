-- A pair that an HR update made break a hard rule, in a program that flags rather than dissolves (issue #14):
-- [{"rule", "reason", "flagged_at"}], fixed sentences only.
ALTER TABLE pairs ADD COLUMN flags jsonb NOT NULL DEFAULT '[]';
