-- The queue and attempt budget a worker registered for job type $1 (`herald enqueue`
-- uses them for a type this binary does not know).
SELECT queue, max_attempts FROM herald.job_types WHERE job_type = $1
