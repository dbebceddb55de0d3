-- Staff invitations are records: listed, revoked, audited, and used in the
-- same transaction that gives the role. Only the emailed token's hash is kept.
CREATE TABLE business.staff_invitations (
    id          uuid PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'brand_manager', 'store_manager', 'cashier')),
    brand_id    uuid REFERENCES business.brands (id),
    store_id    uuid REFERENCES business.stores (id),
    invited_by  uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid,
    revoked_at  timestamptz,
    revoked_by  uuid,
    CHECK ((role = 'brand_manager') = (brand_id IS NOT NULL)),
    CHECK ((role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL))
);
CREATE INDEX staff_invitations_business_idx ON business.staff_invitations (business_id, created_at);

-- Audit events staged in the system of record until the audit store has them
-- (the business.audit_events table here, DynamoDB in the AWS shape).
CREATE TABLE business.audit_outbox (
    id    uuid PRIMARY KEY,
    event jsonb NOT NULL
);
