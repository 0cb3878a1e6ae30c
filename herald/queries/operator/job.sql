-- One job with its payload, for `herald jobs show`. `held` says why a waiting job
-- (pending or retrying) is not being claimed now, when something holds it: its queue
-- is paused (herald.queue_pauses), as `queue paused since <time> by <actor>: <reason>`;
-- or a flow limit on its type or flow key holds it (herald.flow_limits), as
-- `concurrency cap <key> (<n> running, cap <n>)` or `rate limit <key> (<r>/s)`.
SELECT j.id, j.job_type, j.queue,
       CASE WHEN j.state = 'pending' AND j.run_at > now() THEN 'scheduled'
            ELSE j.state END AS "state!",
       j.attempt, j.max_attempts, j.priority, j.run_at AS "run_at: StoredTime",
       j.created_at AS "created_at: StoredTime", j.finished_at AS "finished_at: StoredTime",
       j.last_error_code, j.locked_by, j.idempotency_key,
       j.payload::text AS "payload!: ShownPayload", -- text: a value nested too deep for serde_json still reads
       CASE WHEN p.queue IS NOT NULL THEN
           format('queue paused since %s by %s: %s',
                  coalesce(to_char(p.paused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
                           p.paused_at::text),
                  p.paused_by, p.reason)
            WHEN lim.running >= lim.max_running THEN
           format('concurrency cap %s (%s running, cap %s)', lim.key, lim.running, lim.max_running)
            WHEN lim.key IS NOT NULL THEN
           format('rate limit %s (%s/s)', lim.key, lim.rate)
       END AS "held?"
FROM herald.jobs AS j
LEFT JOIN herald.queue_pauses AS p
       ON p.queue = j.queue AND j.state IN ('pending', 'retrying')
LEFT JOIN LATERAL (
    SELECT l.key, l.rate, l.running, l.max_running
    FROM herald.flow_limits AS l
    WHERE j.state IN ('pending', 'retrying')
      AND l.key = ANY(ARRAY[j.job_type, j.flow_key])
      AND (l.held_until > now() OR l.running >= l.max_running)
    ORDER BY coalesce(l.running >= l.max_running, false) DESC, l.key
    LIMIT 1
) AS lim ON true
WHERE j.id = $1
