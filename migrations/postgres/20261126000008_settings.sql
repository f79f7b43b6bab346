-- Settings an admin changes from the console, on top of the configuration file. One row;
-- NULL means "as the configuration file says"; no row at all means the same for every key.
-- Applied to scans queued after a change.
CREATE TABLE settings (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    -- JSON array of exclusion specs, excluded from every new scan besides the file's list.
    exclude      TEXT NOT NULL DEFAULT '[]',
    -- Probes per second of a scan that names no rate.
    default_rate BIGINT CHECK (default_rate IS NULL OR default_rate > 0),
    -- The highest rate a scan may ask for.
    rate_cap     BIGINT CHECK (rate_cap IS NULL OR rate_cap > 0)
);
