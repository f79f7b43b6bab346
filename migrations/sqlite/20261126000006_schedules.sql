-- Recurring scans. A schedule recurs either by a cron expression in a time zone or every N
-- hours; times are Unix seconds because the scheduler computes with them.
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    -- JSON arrays of the specs, as in `scans`.
    targets      TEXT NOT NULL,
    exclude      TEXT NOT NULL DEFAULT '[]',
    -- NULL: the appliance's default ports and rate at the time of each run.
    ports        TEXT,
    rate         INTEGER,
    cron         TEXT,
    every_hours  INTEGER CHECK (every_hours IS NULL OR every_hours BETWEEN 1 AND 8760),
    timezone     TEXT NOT NULL DEFAULT 'UTC',
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    -- When the last run was started, and its scan.
    last_run_at  INTEGER,
    last_scan_id INTEGER REFERENCES scans (id),
    CHECK ((cron IS NULL) <> (every_hours IS NULL))
);
