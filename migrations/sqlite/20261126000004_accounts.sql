-- Accounts: users with roles, browser sessions, tokens that act as a user, an audit log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    -- Argon2id PHC string; NULL until a password is set (`sonde user passwd`): no login.
    password_hash TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Tokens made before accounts existed act as an admin named `admin`, so that automation
-- keeps working after an upgrade; that admin logs in once `sonde user passwd admin` sets
-- a password.
INSERT INTO users (name, role) SELECT 'admin', 'admin' WHERE EXISTS (SELECT 1 FROM tokens);
ALTER TABLE tokens ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
UPDATE tokens SET user_id = (SELECT id FROM users WHERE name = 'admin');
CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE sessions (
    -- SHA-256 of the session id, hex: a copy of the database does not hold live cookies.
    hash         TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- Absolute expiry, whatever the activity.
    expires_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- No foreign key: the log outlives the users it names.
    user_id  INTEGER,
    username TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT,
    source   TEXT
);
