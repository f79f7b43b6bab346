-- Several appliances on one store. Used on PostgreSQL only (leasing needs row locks with
-- SKIP LOCKED); the SQLite twin keeps both schemas identical so `sonde db copy` moves them.

-- Appliances sharing the store: who they are, what they can reach, when they last spoke.
CREATE TABLE appliances (
    name         TEXT PRIMARY KEY,
    -- JSON array of CIDRs this appliance can reach.
    reach        TEXT NOT NULL,
    -- JSON array of CIDRs only appliances listing them may scan (a DMZ sensor's networks).
    exclusive    TEXT NOT NULL DEFAULT '[]',
    -- Capabilities, 0/1: raw sockets (the SYN engine) and io_uring (the connect engine).
    raw_sockets  INTEGER NOT NULL DEFAULT 0,
    io_uring     INTEGER NOT NULL DEFAULT 0,
    version      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

-- A scan cut into subnets that appliances lease. A chunk is one subnet of the scan walked in
-- its own seeded order, so `settled_below` (an index into that order) is its checkpoint.
CREATE TABLE scan_chunks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id       INTEGER NOT NULL REFERENCES scans (id),
    idx           INTEGER NOT NULL,
    -- JSON array of `first-last` address ranges (exclusions already applied).
    targets       TEXT NOT NULL,
    -- Bounds of those ranges as integers, for matching against what appliances reach.
    first_ip      INTEGER NOT NULL,
    last_ip       INTEGER NOT NULL,
    ports         TEXT NOT NULL,
    -- The chunk's own seed (the u64's bits), derived from the scan's.
    seed          INTEGER NOT NULL,
    rate          INTEGER NOT NULL,
    -- `auto`, `connect` or `syn`; NULL: each appliance's configured engine.
    engine        TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'leased', 'done', 'cancelled')),
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
    UNIQUE (scan_id, idx)
);

CREATE INDEX scan_chunks_by_status ON scan_chunks (status, scan_id, idx);
