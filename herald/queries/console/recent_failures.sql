-- The failed-login throttle's counts over the last $3 seconds: failures for the
-- username $1, and failures from the source address $2 (partial indexes
-- console_events_failed_actor_idx / _addr_idx).
SELECT
    (SELECT count(*) FROM herald.console_events
      WHERE event = 'login_failed' AND actor = $1 AND at > now() - make_interval(secs => $3)) AS "by_user!",
    (SELECT count(*) FROM herald.console_events
      WHERE event = 'login_failed' AND source_addr = $2 AND at > now() - make_interval(secs => $3)) AS "by_addr!"
