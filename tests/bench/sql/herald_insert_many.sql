-- STOPGAP multi-row enqueue (see herald_side::enqueue_many_stopgap): $1 job types,
-- $2 payloads, $3 max attempts, one row per array element. Fires the same NOTIFY trigger.
INSERT INTO herald.jobs (job_type, payload, max_attempts)
SELECT t, p, $3
FROM unnest($1::text[], $2::jsonb[]) AS i(t, p)
