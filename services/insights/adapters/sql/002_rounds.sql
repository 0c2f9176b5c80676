-- Matching rounds as facts: when a program was matched, how many pairs each round formed and how many active
-- candidates it left unmatched (RoundCommitted). Counts only; who was left out, and why, stays in matching.
CREATE TABLE rounds (
    round_id      text PRIMARY KEY,
    program_id    text NOT NULL,
    pairs_formed  integer NOT NULL,
    unmatched     integer NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX rounds_by_program ON rounds (program_id, at);
