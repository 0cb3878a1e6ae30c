-- Every flow limit with its state now: the tokens in the bucket (refilled to now), the
-- running jobs under the cap, whether it holds jobs back, and how many runnable jobs
-- it applies to (a scan of the waiting jobs: an operator's command, not a hot path).
SELECT l.key AS "key!", l.rate, l.burst, l.max_running, l.running AS "running!",
       CASE WHEN l.rate IS NOT NULL THEN
           least(l.burst::float8,
                 l.tokens + l.rate * greatest(0, extract(epoch FROM now() - l.refilled_at)::float8))
       END AS tokens,
       CASE WHEN l.running >= l.max_running THEN 'cap'
            WHEN l.held_until > now() THEN 'rate'
       END AS holding,
       (SELECT count(*)
        FROM herald.jobs AS j
        WHERE j.state IN ('pending', 'retrying') AND j.run_at <= now()
          AND (j.job_type = l.key OR j.flow_key = l.key)) AS "waiting!",
       l.set_at AS "set_at: StoredTime", l.set_by AS "set_by!", l.reason AS "reason!"
FROM herald.flow_limits AS l
ORDER BY l.key
