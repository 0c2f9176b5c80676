-- `GET /me`: a participant's active pairs across programs.
CREATE INDEX pairs_by_active_mentor ON pairs (mentor_id) WHERE status = 'active';
CREATE INDEX pairs_by_active_mentee ON pairs (mentee_id) WHERE status = 'active';
