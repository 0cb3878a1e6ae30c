-- A batch's row ($1 members, $2 label); its members and callbacks follow in the same
-- transaction (jobs/src/workflow.rs).
INSERT INTO herald.batches (total, description)
VALUES ($1, $2)
RETURNING id
