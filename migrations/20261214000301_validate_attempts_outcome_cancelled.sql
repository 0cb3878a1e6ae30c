-- Validates the audit outcome check that admits `cancelled` (added NOT VALID by the
-- previous migration): a scan under SHARE UPDATE EXCLUSIVE, which lets reads and writes
-- through.
ALTER TABLE herald.attempts VALIDATE CONSTRAINT attempts_outcome_check;
