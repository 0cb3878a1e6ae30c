-- The maintenance leader prunes the console's authentication audit (herald.console_events,
-- retention class `console_events`, default a year, HERALD_RETENTION_CONSOLE_EVENTS); each
-- run records how many rows it removed, like the other classes. A constant default: no
-- table rewrite.
ALTER TABLE herald.maintenance_runs
    ADD COLUMN console_events_removed bigint NOT NULL DEFAULT 0;
