-- Identity: POS terminals, sessions (refresh-token families) and one-time tokens.
-- See migrations/postgres/0002_identity.sql.

CREATE TABLE terminals (
    id           BLOB PRIMARY KEY,
    business_id  BLOB NOT NULL REFERENCES businesses (id),
    brand_id     BLOB REFERENCES brands (id),
    store_id     BLOB NOT NULL REFERENCES stores (id),
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX terminals_store_idx ON terminals (store_id, id);

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY,
    family_id    BLOB NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    rotated_at   TEXT,
    revoked_at   TEXT
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_subject_idx ON sessions (subject_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE one_time_tokens (
    token_hash BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    subject_id BLOB,
    payload    TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at);
