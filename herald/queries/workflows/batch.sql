-- Batch $1: its counters and when each event fired (`herald workflows show`).
SELECT id, total, succeeded, dead, cancelled, description,
       created_at AS "created_at: StoredTime",
       completed_at AS "completed_at: StoredTime",
       succeeded_at AS "succeeded_at: StoredTime",
       died_at AS "died_at: StoredTime"
FROM herald.batches
WHERE id = $1
