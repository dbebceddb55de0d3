-- Staff invitations are records: listed, revoked, audited, and used in the
-- same transaction that gives the role. Only the emailed token's hash is kept.
CREATE TABLE staff_invitations (
    id          BLOB PRIMARY KEY,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'brand_manager', 'store_manager', 'cashier')),
    brand_id    BLOB REFERENCES brands (id),
    store_id    BLOB REFERENCES stores (id),
    invited_by  BLOB NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by BLOB,
    revoked_at  TEXT,
    revoked_by  BLOB,
    CHECK ((role = 'brand_manager') = (brand_id IS NOT NULL)),
    CHECK ((role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL))
);
CREATE INDEX staff_invitations_business_idx ON staff_invitations (business_id, created_at);

-- Audit events staged in the system of record until the audit store has them
-- (the audit_events table here, DynamoDB in the AWS shape).
CREATE TABLE audit_outbox (
    id    BLOB PRIMARY KEY,
    event TEXT NOT NULL
);
