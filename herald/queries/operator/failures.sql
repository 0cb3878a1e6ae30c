-- Failed attempts finished at or after $1, of type $2 (NULL = any), grouped by exact
-- type, code and message; the CLI merges these into fingerprints.
SELECT job_type, error_code AS "error_code!", coalesce(message, '') AS "message!",
       count(*) AS "attempts!", array_agg(DISTINCT job_id) AS "job_ids!",
       min(finished_at) AS "first_seen!: StoredTime", max(finished_at) AS "last_seen!: StoredTime",
       max(job_id) AS "example_job_id!"
FROM herald.attempts
WHERE error_code IS NOT NULL
  AND finished_at >= $1
  AND ($2::text IS NULL OR job_type = $2)
GROUP BY job_type, error_code, coalesce(message, '')
