-- Machines: what an operator counts as one host. A machine is known by its MAC when ARP saw
-- one, else by its address (a routed host, or an on-link one before ARP answered). Host rows
-- (addresses) link to their machine, so a machine seen at a new address keeps its identity,
-- and one seen under several addresses at once is one machine with several addresses.
CREATE TABLE machines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The identity when ARP gave one (`02:5d:6c:00:00:02`).
    mac         TEXT UNIQUE,
    -- The identity of a machine without a MAC: its address. NULL once a MAC is known.
    ip          INTEGER UNIQUE,
    vendor      TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);

ALTER TABLE hosts ADD COLUMN machine_id INTEGER REFERENCES machines (id);
CREATE INDEX hosts_by_machine ON hosts (machine_id);

-- Where each scan saw each machine, as `scan_results` keeps its ports: any two scans can be
-- compared machine by machine ("moved from A to B").
CREATE TABLE machine_sightings (
    scan_id     INTEGER NOT NULL REFERENCES scans (id),
    machine_id  INTEGER NOT NULL REFERENCES machines (id),
    ip          INTEGER NOT NULL,
    PRIMARY KEY (scan_id, machine_id, ip)
) WITHOUT ROWID;

CREATE INDEX machine_sightings_by_machine ON machine_sightings (machine_id, ip);

-- The machine a change belongs to, so its history follows it across addresses; and the
-- earlier address of a `host_moved` change (`ip` is the new one).
ALTER TABLE changes ADD COLUMN machine_id INTEGER;
ALTER TABLE changes ADD COLUMN from_ip INTEGER;
CREATE INDEX changes_by_machine ON changes (machine_id, id);

-- What was stored before: one machine per MAC, one per address without a MAC.
INSERT INTO machines (mac, vendor, first_seen, last_seen)
    SELECT mac, MAX(vendor), MIN(first_seen), MAX(last_seen) FROM hosts
    WHERE mac IS NOT NULL GROUP BY mac;
INSERT INTO machines (ip, first_seen, last_seen)
    SELECT ip, first_seen, last_seen FROM hosts WHERE mac IS NULL;
UPDATE hosts SET machine_id = (SELECT m.id FROM machines m WHERE m.mac = hosts.mac)
    WHERE mac IS NOT NULL;
UPDATE hosts SET machine_id = (SELECT m.id FROM machines m WHERE m.ip = hosts.ip)
    WHERE mac IS NULL;
UPDATE changes SET machine_id = (SELECT h.machine_id FROM hosts h WHERE h.ip = changes.ip);
INSERT INTO machine_sightings (scan_id, machine_id, ip)
    SELECT DISTINCT r.scan_id, h.machine_id, r.ip FROM scan_results r JOIN hosts h ON h.ip = r.ip;
