-- Host history: what each scan saw of each port's identification, so that two scans can be
-- compared service by service; operator edits on hosts; host names with their source; and the
-- change log each scan records when it ends.

ALTER TABLE scan_results ADD COLUMN service TEXT;
ALTER TABLE scan_results ADD COLUMN product TEXT;
ALTER TABLE scan_results ADD COLUMN version TEXT;
ALTER TABLE scan_results ADD COLUMN info TEXT;
ALTER TABLE scan_results ADD COLUMN cpe TEXT;

-- Written by operators only; scans never touch them, so they survive rescans.
ALTER TABLE hosts ADD COLUMN name TEXT;
ALTER TABLE hosts ADD COLUMN note TEXT;
-- JSON array of strings.
ALTER TABLE hosts ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

-- Names of a host and who said so: `dns` (PTR), or a service (`tls`, `http`, `ssh`, `smb`).
CREATE TABLE hostnames (
    ip       INTEGER NOT NULL,
    name     TEXT NOT NULL,
    source   TEXT NOT NULL,
    scan_id  INTEGER REFERENCES scans (id),
    seen_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (ip, name, source)
) WITHOUT ROWID;

-- What a scan changed relative to the scan it was compared with when it ended (`against`;
-- NULL when no earlier scan covered the same targets and ports, so everything appeared).
CREATE TABLE changes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id  INTEGER NOT NULL REFERENCES scans (id),
    against  INTEGER REFERENCES scans (id),
    ip       INTEGER NOT NULL,
    -- host_appeared, host_vanished, port_opened, port_closed, service_changed
    kind     TEXT NOT NULL,
    port     INTEGER,
    proto    TEXT,
    -- JSON {service, product, version} before and after, when they apply.
    before   TEXT,
    after    TEXT,
    at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX changes_by_ip ON changes (ip, id);
CREATE INDEX changes_by_scan ON changes (scan_id);
