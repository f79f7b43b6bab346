-- Docker engines read by `sonde serve` (`[docker] endpoints`), their containers and their
-- networks. Rows are replaced by each read of the engine; `first_seen` survives it.

-- One row per configured endpoint. `ip` is the engine host's IPv4 address as an integer when
-- known (a unix socket is this machine, 127.0.0.1); it joins `hosts.ip`.
CREATE TABLE docker_hosts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint    TEXT NOT NULL UNIQUE,
    ip          INTEGER,
    product     TEXT,
    version     TEXT,
    api_version TEXT,
    platform    TEXT,
    -- Why the last read failed; NULL when it worked.
    error       TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    last_read   TEXT NOT NULL
);

-- Containers, in any state. `labels`, `ports` and `networks` are JSON as the API shows them.
CREATE TABLE docker_containers (
    docker_host_id INTEGER NOT NULL REFERENCES docker_hosts (id),
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    image          TEXT NOT NULL,
    state          TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',
    ports          TEXT NOT NULL DEFAULT '[]',
    networks       TEXT NOT NULL DEFAULT '[]',
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    PRIMARY KEY (docker_host_id, id)
);

-- Docker networks: the subnets containers live on. `subnets` is a JSON array of CIDRs.
CREATE TABLE docker_networks (
    docker_host_id INTEGER NOT NULL REFERENCES docker_hosts (id),
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    driver         TEXT NOT NULL,
    subnets        TEXT NOT NULL DEFAULT '[]',
    internal       INTEGER NOT NULL DEFAULT 0,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    PRIMARY KEY (docker_host_id, id)
);
