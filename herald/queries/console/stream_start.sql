-- Where the live stream starts: the database's clock now (only attempts finished after
-- it are sent) and the newest alert transition (only later ones are sent).
SELECT now() AS "now!",
       coalesce((SELECT max(e.id) FROM herald.alert_events AS e), 0) AS "last_alert!"
