-- Issue #16: training modules a program published (replacing or extending those shipped with the product, which
-- are files, not rows), and who passed which module version's knowledge check. Completions hold pseudonyms only.
CREATE TABLE training_modules (
    program_id    text NOT NULL REFERENCES programs,
    module_id     text NOT NULL,
    version       integer NOT NULL,
    content       text NOT NULL,           -- the Markdown with its front matter, as published
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, module_id, version)
);

CREATE TABLE training_completions (
    program_id      text NOT NULL REFERENCES programs,
    participant_id  text NOT NULL,
    module_id       text NOT NULL,
    module_version  integer NOT NULL,
    score           integer NOT NULL,
    questions       integer NOT NULL,
    completed_at    timestamptz NOT NULL,
    PRIMARY KEY (program_id, participant_id, module_id, module_version)
);
