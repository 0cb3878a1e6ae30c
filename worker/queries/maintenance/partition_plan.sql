-- What creating herald.attempts partitions ahead needs: the jobs id sequence's next
-- value, the top of the highest range partition (NULL: none), and how many range
-- partitions lie wholly above that next value. Reads the catalog and the sequence only.
SELECT coalesce(pg_sequence_last_value('herald.jobs_id_seq') + 1, 1) AS "next_job_id!",
       (SELECT max(p.upper_bound) FROM herald.attempt_partitions() AS p) AS top,
       (SELECT count(*) FROM herald.attempt_partitions() AS p
        WHERE p.lower_bound > coalesce(pg_sequence_last_value('herald.jobs_id_seq') + 1, 1))
           AS "ahead!"
