-- The admins' view of each pair's last notification (GET .../pairs/last-notifications) reads by program and pair.
CREATE INDEX notifications_by_pair ON notifications (program_id, (context->>'pair_id'), participant_id, recorded_at DESC)
    WHERE participant_id IS NOT NULL;
