-- Serialises login attempts for one username across the fleet for the rest of the
-- transaction, so the failed-login count read next cannot be raced past by parallel
-- attempts (on any console process).
SELECT pg_advisory_xact_lock(hashtextextended('herald.console.login:' || $1::text, 0))
