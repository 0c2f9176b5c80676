-- Participants whose contact details changed (docs/adr/0007), written in the same transaction as the change and
-- published to the compacted `<prefix>.enrolment.contacts` topic by the contacts relay, which deletes the rows it
-- published. Ids only: the relay reads the details from `participants` when it publishes, so this outbox holds no
-- personal data and an erasure needs nothing removed from it.
CREATE TABLE contact_outbox (
    position        bigserial PRIMARY KEY,
    participant_id  text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
-- Everyone enrolled before this table existed is published once.
INSERT INTO contact_outbox (participant_id)
SELECT participant_id FROM participants GROUP BY participant_id ORDER BY min(enrolled_at);
