-- IF NOT EXISTS: schemas migrated before the pool had a folder of its own already hold these tables.
-- Matching's knowledge of enrolment (the pool), built from enrolment's events by the `pool` projection.
CREATE TABLE IF NOT EXISTS pool_programs (
    program_id  text PRIMARY KEY,
    launched    jsonb NOT NULL             -- ProgramLaunched body: weights, optimize_for, focus areas, languages
);

CREATE TABLE IF NOT EXISTS pool_candidates (
    program_id      text NOT NULL,
    participant_id  text NOT NULL,
    profile         jsonb NOT NULL,        -- latest ParticipantEnrolled / ParticipantProfileUpdated body
    status          text NOT NULL DEFAULT 'active',   -- active | withdrawn
    PRIMARY KEY (program_id, participant_id)
);

