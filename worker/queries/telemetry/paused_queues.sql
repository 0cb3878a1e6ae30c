-- How long each paused queue has been paused, in seconds (herald_queue_paused_seconds,
-- fleet-wide). A pause time that is not finite (written with raw SQL) reads as
-- infinitely old instead of failing the query (PostgreSQL < 17 cannot subtract it).
SELECT queue,
       CASE WHEN isfinite(paused_at)
            THEN greatest(extract(epoch FROM now() - paused_at)::float8, 0)
            ELSE 'Infinity'::float8
       END AS "seconds!"
FROM herald.queue_pauses
