-- The first statement of every maintenance transaction: waits for any lock at most $1
-- (e.g. '1s') and lets no statement run longer than $2, for this transaction only
-- (is_local = true, so it also holds behind a transaction-mode connection pooler).
SELECT set_config('lock_timeout', $1, true) AS lock_timeout,
       set_config('statement_timeout', $2, true) AS statement_timeout
