-- 25,000 hosts in 10.1.0.0/16 with 4 open ports each: 100,000 ports, for measuring the
-- console against a large store (see measure-100k.sh). Only rows in the store; nothing is
-- scanned. The same shape as the store test `hosts_page_stays_fast_with_100k_ports`.
INSERT INTO scans (status, targets, ports, rate, seed, probes_total, probes_done, open_ports, hosts_up,
                   started_at, finished_at)
VALUES ('completed', '["10.1.0.0/16"]', '22,80,443,3306', 10000, 1, 262144, 262144, 100000, 25000,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 24999)
INSERT INTO hosts (ip, first_seen, last_seen, last_scan_id)
SELECT (10 << 24) + (1 << 16) + i * 2 + (i % 2),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i % 97) || ' minutes'),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i % 13) || ' minutes'),
       (SELECT max(id) FROM scans)
FROM n;

INSERT INTO ports (ip, port, proto, state, service, product, version, banner, rtt_ms, first_seen,
                   last_seen, last_scan_id)
WITH s(port, service, product, version, banner) AS (VALUES
  (22, 'ssh', 'OpenSSH', '9.2p1', 'SSH-2.0-OpenSSH_9.2p1 Debian-2'),
  (80, 'http', 'nginx', '1.22.1', 'HTTP/1.1 200 OK Server: nginx/1.22.1'),
  (443, 'https', 'nginx', '1.22.1', 'HTTP/1.1 200 OK Server: nginx/1.22.1'),
  (3306, 'mysql', 'MySQL', '8.0.36', '8.0.36-0+deb12u1 mysql_native_password'))
SELECT h.ip, s.port + (h.ip % 7) * (s.port > 1000), 'tcp', 'open', s.service,
       CASE WHEN h.ip % 4 = 0 THEN NULL ELSE s.product END, s.version,
       CAST(s.banner || ' host ' || h.ip AS BLOB), 0.4, h.first_seen, h.last_seen, h.last_scan_id
FROM hosts h CROSS JOIN s;
