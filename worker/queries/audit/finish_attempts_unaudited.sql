-- BENCHMARK ONLY (`WorkerConfig::bench_skip_audit`): finish_attempts.sql without the
-- audit insert, so the benchmark can measure what the audit row costs. Same parameters;
-- never used by `herald worker`. Plan notes: see finish_attempts.sql.
WITH input AS (
    SELECT *
    FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
                $11::timestamptz[], $12::text[], $13::text[])
        AS i(job_id, attempt, worker_id, job_state, next_run_at,
             outcome, error_code, error_class, message, started_at,
             finished_at, trace_id, error_chain)
)
UPDATE herald.jobs AS j
SET state = i.job_state,
    run_at = coalesce(i.next_run_at, j.run_at),
    locked_by = NULL,
    claimed_at = NULL,
    heartbeat_at = NULL,
    finished_at = CASE WHEN i.job_state IN ('succeeded', 'dead') THEN i.finished_at END,
    last_error_code = i.error_code
FROM input AS i
WHERE j.id = i.job_id
  AND j.attempt = i.attempt
  AND coalesce(j.state, '') = 'running'
  AND j.locked_by = i.worker_id
RETURNING j.id
