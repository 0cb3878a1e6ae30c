-- Forgets schedule $1's ticks older than a day before $2 (no worker enqueues a tick that
-- far in its past, so the uniqueness they provide is no longer needed).
DELETE FROM herald.cron_ticks WHERE schedule = $1 AND tick < $2::timestamptz - interval '1 day'
