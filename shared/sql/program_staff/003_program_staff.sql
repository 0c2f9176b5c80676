-- Who runs and who sponsors each program (ProgramLaunched's admin_groups and sponsor_groups), for services that
-- keep no launch of their own (shared/program_staff.py). Rebuildable from enrolment's log by `tandem replay`.
CREATE TABLE IF NOT EXISTS program_staff (
    program_id      text PRIMARY KEY,
    admin_groups    text[] NOT NULL,
    sponsor_groups  text[] NOT NULL
);
