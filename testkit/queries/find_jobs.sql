-- Jobs matching a filter, oldest first, at most $5: type $1, queue $2, states $3 and a
-- payload containing $4 (JSON containment, `@>`); a NULL parameter matches everything.
-- `run_at` is NULL when stored out of chrono's range ('infinity').
SELECT id, job_type, queue, state, payload, priority, attempt, max_attempts,
       CASE WHEN isfinite(run_at) THEN run_at END AS run_at, idempotency_key,
       last_error_code
FROM herald.jobs
WHERE ($1::text IS NULL OR job_type = $1)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text[] IS NULL OR state = ANY($3))
  AND ($4::jsonb IS NULL OR payload @> $4)
ORDER BY id
LIMIT $5
