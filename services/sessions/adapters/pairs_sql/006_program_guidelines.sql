-- Each program's guidelines for its pairs (cadence, duration), from ProgramLaunched and ProgramSettingsChanged:
-- they bound an agreement, set the feedback period before one is in force, and end a pair without one.
CREATE TABLE program_guidelines (
    program_id        text PRIMARY KEY,
    cadence_days      integer NOT NULL,
    duration_weeks    integer NOT NULL,
    settings_version  integer NOT NULL
);
