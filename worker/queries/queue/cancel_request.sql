-- The operator's cancel request for attempt $2 of job $1 (who asked, and why), read by
-- the worker when it records the attempt it stopped.
SELECT actor, reason
FROM herald.cancel_requests
WHERE job_id = $1 AND attempt = $2
