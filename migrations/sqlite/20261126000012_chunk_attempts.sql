-- Failed attempts of a shared scan's chunks: a chunk whose appliance cannot start it (its
-- engine fails at once) goes back to the pool at once, up to `[cluster] chunk_attempts`
-- times, then is marked `failed` with the last error and the scan ends failed naming it.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the new status.

CREATE TABLE scan_chunks_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id       INTEGER NOT NULL REFERENCES scans (id),
    idx           INTEGER NOT NULL,
    targets       TEXT NOT NULL,
    first_ip      INTEGER NOT NULL,
    last_ip       INTEGER NOT NULL,
    ports         TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    rate          INTEGER NOT NULL,
    engine        TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'leased', 'done', 'cancelled', 'failed')),
    lease_owner   TEXT,
    lease_until   TEXT,
    leases        INTEGER NOT NULL DEFAULT 0,
    settled_below INTEGER NOT NULL DEFAULT 0,
    probes_total  INTEGER NOT NULL,
    probes_sent   INTEGER NOT NULL DEFAULT 0,
    probes_done   INTEGER NOT NULL DEFAULT 0,
    replies       INTEGER NOT NULL DEFAULT 0,
    open_ports    INTEGER NOT NULL DEFAULT 0,
    hosts_up      INTEGER NOT NULL DEFAULT 0,
    done_by       TEXT,
    finished_at   TEXT,
    -- Attempts that failed (the engine could not start or stopped with an error).
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- The last attempt's error.
    error         TEXT,
    UNIQUE (scan_id, idx)
);

INSERT INTO scan_chunks_new (id, scan_id, idx, targets, first_ip, last_ip, ports, seed, rate,
    engine, status, lease_owner, lease_until, leases, settled_below, probes_total, probes_sent,
    probes_done, replies, open_ports, hosts_up, done_by, finished_at)
SELECT id, scan_id, idx, targets, first_ip, last_ip, ports, seed, rate, engine, status,
    lease_owner, lease_until, leases, settled_below, probes_total, probes_sent, probes_done,
    replies, open_ports, hosts_up, done_by, finished_at
FROM scan_chunks;

DROP TABLE scan_chunks;
ALTER TABLE scan_chunks_new RENAME TO scan_chunks;
CREATE INDEX scan_chunks_by_status ON scan_chunks (status, scan_id, idx);
