-- See migrations/postgres/0003_admin.sql.

ALTER TABLE programs ADD COLUMN description TEXT;
ALTER TABLE programs ADD COLUMN availability TEXT NOT NULL DEFAULT '{"brand_ids": [], "store_ids": []}';

DROP TABLE campaigns;
CREATE TABLE campaigns (
    id          BLOB PRIMARY KEY,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    program_id  BLOB NOT NULL REFERENCES programs (id),
    body        TEXT NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX campaigns_program_idx ON campaigns (program_id);

CREATE TABLE audit_events (
    id            BLOB PRIMARY KEY,
    at            TEXT NOT NULL,
    business_id   BLOB,
    actor_kind    TEXT NOT NULL,
    actor_id      BLOB,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   BLOB,
    before        TEXT,
    after         TEXT
);
CREATE INDEX audit_events_business_idx ON audit_events (business_id, id);
