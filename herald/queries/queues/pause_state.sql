-- The pause of queue $1, if it is paused: when, by whom, why.
SELECT paused_at AS "paused_at: StoredTime", paused_by, reason
FROM herald.queue_pauses
WHERE queue = $1
