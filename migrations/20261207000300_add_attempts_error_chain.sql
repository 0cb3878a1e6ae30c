-- The full, sanitised cause chain of a failed attempt ("upstream unavailable: POST to
-- 127.0.0.1 failed: connection refused: error sending request: client error (Connect):
-- tcp connect error: Connection refused (os error 111)"), so the audit trail explains a
-- failure without the worker's log. `message` keeps the one-line message fingerprints
-- are computed from. NULL for successes and for rows written before this migration.
ALTER TABLE herald.attempts ADD COLUMN error_chain text;
