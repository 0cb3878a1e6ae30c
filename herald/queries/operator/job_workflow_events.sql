-- Job $1's workflow trail: what happened to it because of another job (`held`).
SELECT at AS "at: StoredTime", event, batch_id, upstream_job_id, upstream_error_code, message
FROM herald.workflow_events
WHERE job_id = $1
ORDER BY id
