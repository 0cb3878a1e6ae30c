-- Makes every waiting job of queues $1 (all queues when NULL) due now: scheduled jobs
-- and retries waiting out their backoff (`drain` with `with_scheduled`). The audit rows
-- keep the retry's original `next_run_at`.
UPDATE herald.jobs
SET run_at = now()
WHERE state IN ('pending', 'retrying')
  AND run_at > now()
  AND ($1::text[] IS NULL OR queue = ANY($1))
