-- Jobs matching an operator filter, newest first: ids $1 (NULL = any), shown states $2
-- (`scheduled` = pending with a future run_at; NULL = any), type $3, queue $4, last
-- error code $5, finished (else created) at or after $6 and before $7, at most $8 rows
-- (NULL = all), ids below $9 only (NULL = any: the `jobs list --after` keyset cursor,
-- served by the primary key however many jobs there are), text $10 in the id (exactly) or
-- the idempotency key (a substring, matched literally: strpos, not LIKE; NULL = any). Each job comes with its last
-- failed attempt's code and message, from which the CLI computes its fingerprint.
SELECT j.id, j.job_type, j.queue, s.state AS "state!", j.attempt, j.max_attempts, j.priority,
       j.run_at AS "run_at: StoredTime", j.created_at AS "created_at: StoredTime",
       j.finished_at AS "finished_at: StoredTime", j.last_error_code,
       f.error_code AS "failure_code?", f.message AS "failure_message?"
FROM herald.jobs AS j
CROSS JOIN LATERAL (
    SELECT CASE WHEN j.state = 'pending' AND j.run_at > now() THEN 'scheduled'
                ELSE j.state END AS state
) AS s
LEFT JOIN LATERAL (
    SELECT a.error_code, a.message
    FROM herald.attempts AS a
    WHERE a.job_id = j.id AND a.error_code IS NOT NULL
    ORDER BY a.attempt DESC
    LIMIT 1
) AS f ON true
WHERE ($1::bigint[] IS NULL OR j.id = ANY($1))
  AND ($2::text[] IS NULL OR s.state = ANY($2))
  AND ($3::text IS NULL OR j.job_type = $3)
  AND ($4::text IS NULL OR j.queue = $4)
  AND ($5::text IS NULL OR j.last_error_code = $5)
  AND ($6::timestamptz IS NULL OR coalesce(j.finished_at, j.created_at) >= $6)
  AND ($7::timestamptz IS NULL OR coalesce(j.finished_at, j.created_at) < $7)
  AND ($9::bigint IS NULL OR j.id < $9)
  AND ($10::text IS NULL OR j.id::text = $10 OR strpos(j.idempotency_key, $10) > 0)
ORDER BY j.id DESC
LIMIT $8
