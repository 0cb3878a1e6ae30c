-- Validates the state check that admits `waiting` (added NOT VALID by the previous
-- migration): a scan under SHARE UPDATE EXCLUSIVE, which lets reads and writes through.
ALTER TABLE herald.jobs VALIDATE CONSTRAINT jobs_state_check;
