-- Issue #16: what enrolment needs of a pair to certify it. Completions (sessions' PairCompleted) are kept apart
-- from `partnerships`, since they come on another topic and may arrive before the pair's PairFormed; the topics
-- of the pair's sessions, with the direction each was logged with, say on the certificate what was learned.
CREATE TABLE partnership_completions (
    pair_id       text PRIMARY KEY,
    program_id    text NOT NULL,
    completed_on  date NOT NULL
);

CREATE TABLE partnership_topics (
    pair_id             text NOT NULL,
    topic               text NOT NULL,
    learning_direction  text NOT NULL,
    PRIMARY KEY (pair_id, topic, learning_direction)
);
