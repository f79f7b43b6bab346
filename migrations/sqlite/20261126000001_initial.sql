-- Sonde's store. Addresses are IPv4 as INTEGER (0..2^32) so subnets are range queries;
-- times are RFC 3339 UTC text written by SQLite itself.

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    -- SHA-256 of the token, hex: tokens carry 256 random bits, so a fast hash is enough.
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
    -- JSON arrays of the specs as requested.
    targets      TEXT NOT NULL,
    exclude      TEXT NOT NULL DEFAULT '[]',
    ports        TEXT NOT NULL,
    rate         INTEGER NOT NULL,
    -- The u64 seed's bits as a signed 64-bit integer.
    seed         INTEGER NOT NULL,
    probes_total INTEGER NOT NULL DEFAULT 0,
    probes_sent  INTEGER NOT NULL DEFAULT 0,
    probes_done  INTEGER NOT NULL DEFAULT 0,
    replies      INTEGER NOT NULL DEFAULT 0,
    open_ports   INTEGER NOT NULL DEFAULT 0,
    hosts_up     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_by   INTEGER REFERENCES tokens (id),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at   TEXT,
    finished_at  TEXT
);

CREATE TABLE hosts (
    ip           INTEGER PRIMARY KEY,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    last_scan_id INTEGER NOT NULL REFERENCES scans (id)
);

-- The current knowledge of each port.
CREATE TABLE ports (
    ip           INTEGER NOT NULL REFERENCES hosts (ip),
    port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    proto        TEXT NOT NULL DEFAULT 'tcp',
    state        TEXT NOT NULL,
    service      TEXT,
    product      TEXT,
    version      TEXT,
    confidence   INTEGER,
    -- Raw bytes as received (bounded by the prober); decoded and escaped only when shown.
    banner       BLOB,
    rtt_ms       REAL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    last_scan_id INTEGER NOT NULL REFERENCES scans (id),
    PRIMARY KEY (ip, port, proto)
) WITHOUT ROWID;

CREATE INDEX ports_by_port ON ports (port);
CREATE INDEX ports_by_service ON ports (service);

-- What each scan saw, so that two scans can be compared.
CREATE TABLE scan_results (
    scan_id INTEGER NOT NULL REFERENCES scans (id),
    ip      INTEGER NOT NULL,
    port    INTEGER NOT NULL,
    proto   TEXT NOT NULL DEFAULT 'tcp',
    PRIMARY KEY (scan_id, ip, port, proto)
) WITHOUT ROWID;
