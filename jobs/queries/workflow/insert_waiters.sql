-- Names callback jobs $1 as waiting on batch $3 for events $2 ('complete', 'success',
-- 'death').
INSERT INTO herald.batch_waiters (job_id, batch_id, on_event)
SELECT w.job_id, $3, w.on_event
FROM unnest($1::bigint[], $2::text[]) AS w(job_id, on_event)
