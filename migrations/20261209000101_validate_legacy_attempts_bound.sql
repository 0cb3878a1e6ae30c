-- Partitioning herald.attempts, step B: proves every existing audit row is below the
-- bound of step A. VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: enqueues, claims and
-- the finisher's audit inserts keep flowing while it reads the table (3.9 s on 10 million
-- rows, BENCHMARKS.md). Its own file, so its own transaction: the short ACCESS EXCLUSIVE
-- lock of step A is released before this long read starts.
ALTER TABLE herald.attempts VALIDATE CONSTRAINT attempts_legacy_bound;
