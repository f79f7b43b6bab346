-- On-link hosts found by ARP: their Ethernet address (`02:5d:6c:00:00:02`) and the
-- organisation the IEEE registries assign its prefix to. NULL for routed hosts.
ALTER TABLE hosts ADD COLUMN mac TEXT;
ALTER TABLE hosts ADD COLUMN vendor TEXT;
