-- Creates herald.attempts partition [$1, $2), moving the DEFAULT partition's rows of that
-- range into it (herald.create_attempt_partition, migration 20261209000103). Returns how
-- many rows it moved.
SELECT herald.create_attempt_partition($1, $2) AS "moved!"
