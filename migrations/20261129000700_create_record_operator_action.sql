-- Records an operator command's changed jobs in the operator-action log, in the same
-- statement as the change (replay, cancel and purge call it from their CTE): creates
-- the action row when `action_id` is NULL, else extends it (a bulk command writes in
-- chunks, one action). Nothing is written for an empty `job_ids`. Returns the action's
-- id (NULL when no row exists yet and nothing changed).
-- Runs with the caller's privileges: an operator role (`herald.grant_operator`) has
-- INSERT and UPDATE on herald.operator_actions; a producer role has neither.
CREATE FUNCTION herald.record_operator_action(
    action_id bigint,
    actor text,
    action text,
    reason text,
    filter jsonb,
    job_ids bigint[]
) RETURNS bigint
LANGUAGE sql
AS $$
    WITH created AS (
        INSERT INTO herald.operator_actions (actor, action, reason, filter, job_count, job_ids)
        SELECT actor, action, reason, filter, cardinality(job_ids), job_ids
        WHERE action_id IS NULL AND cardinality(job_ids) > 0
        RETURNING id
    ),
    -- Inside this UPDATE `job_ids` alone would name the table's column, so the
    -- argument is qualified with the function's name.
    extended AS (
        UPDATE herald.operator_actions AS a
        SET job_count = a.job_count + cardinality(record_operator_action.job_ids),
            job_ids = a.job_ids || record_operator_action.job_ids
        WHERE a.id = record_operator_action.action_id
          AND cardinality(record_operator_action.job_ids) > 0
        RETURNING a.id
    )
    SELECT coalesce((SELECT id FROM created), (SELECT id FROM extended), action_id)
$$;
