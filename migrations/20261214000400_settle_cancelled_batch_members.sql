-- A cancelled batch member settles (issue 16): `herald cancel` of a member counts it in
-- its batch's new `cancelled` counter, in the cancel statement itself
-- (herald/queries/operator/cancel.sql), under the same batch-row lock as the finish
-- statement's, so the batch's `complete` callbacks are released exactly once when the
-- rest settle. A cancelled member never lets the batch succeed, and it is not a death:
--   complete  every member settled: succeeded, dead or cancelled
--   success   every member succeeded (so never while one is cancelled)
--   death     the first member died (a cancel is an operator's decision, not a failure)
-- The batch's `success` dependents (its success callbacks, a chain's next steps, and
-- theirs in turn) can then never be released: the cancel ends them too, `cancelled`,
-- each with a `cancelled` record in herald.workflow_events naming the cancelled
-- upstream job. Replaying the cancelled member takes it back out of the counter.
-- A batch that succeeds can never die (replay takes only dead and cancelled jobs): the
-- finish statement ends its death callbacks `cancelled` with a `skipped` record, so no
-- callback waits forever (and the batch can be pruned once its jobs are).
ALTER TABLE herald.batches
    ADD COLUMN cancelled integer NOT NULL DEFAULT 0 CHECK (cancelled >= 0);

ALTER TABLE herald.workflow_events DROP CONSTRAINT workflow_events_event_check;
ALTER TABLE herald.workflow_events
    ADD CONSTRAINT workflow_events_event_check
    CHECK (event IN ('held', 'cancelled', 'skipped'));
