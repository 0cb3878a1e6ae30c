-- One job with its payload, for `herald jobs show`.
SELECT j.id, j.job_type, j.queue,
       CASE WHEN j.state = 'pending' AND j.run_at > now() THEN 'scheduled'
            ELSE j.state END AS "state!",
       j.attempt, j.max_attempts, j.priority, j.run_at AS "run_at: StoredTime",
       j.created_at AS "created_at: StoredTime", j.finished_at AS "finished_at: StoredTime",
       j.last_error_code, j.locked_by, j.idempotency_key,
       j.payload::text AS "payload!: ShownPayload" -- text: a value nested too deep for serde_json still reads
FROM herald.jobs AS j
WHERE j.id = $1
