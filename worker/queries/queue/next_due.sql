-- When the next job of queue $1 and types $2 becomes runnable (NULL if none waits, or if
-- the queue is paused: its backend then waits for the resume's NOTIFY or the safety poll).
-- A job held by a flow limit (herald.flow_limits) is due when its bucket holds a token
-- again (`held_until`); one whose key's cap is full is never due by time: the finish
-- that frees a slot notifies `limit:<key>` on `herald_control`.
SELECT min(greatest(j.run_at, h.until)) AS "next_due: StoredTime"
FROM herald.jobs AS j
LEFT JOIN LATERAL (
    SELECT max(CASE WHEN l.running >= l.max_running THEN 'infinity'::timestamptz
                    ELSE l.held_until END) AS until
    FROM herald.flow_limits AS l
    WHERE l.key = ANY(ARRAY[j.job_type, j.flow_key])
) AS h ON true
WHERE j.state IN ('pending', 'retrying')
  AND j.queue = $1
  AND j.job_type = ANY($2)
  AND NOT EXISTS (SELECT 1 FROM herald.queue_pauses AS p WHERE p.queue = $1)
