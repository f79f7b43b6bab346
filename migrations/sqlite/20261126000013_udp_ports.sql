-- UDP ports a scan probes after its TCP ports, and those of a schedule's runs, as canonical
-- port lists (`53,123,161`). A scan without UDP ports stores ''; a schedule stores NULL.
ALTER TABLE scans ADD COLUMN udp_ports TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN udp_ports TEXT;
