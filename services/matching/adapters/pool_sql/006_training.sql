-- Issue #16: who completed which training module (TrainingCompleted, any version), so a round leaves out the
-- candidates missing a module their program requires (`required_modules` in pool_programs' settings).
CREATE TABLE IF NOT EXISTS pool_training (
    program_id      text NOT NULL,
    participant_id  text NOT NULL,
    module_id       text NOT NULL,
    module_version  integer NOT NULL,
    PRIMARY KEY (program_id, participant_id, module_id, module_version)
);
