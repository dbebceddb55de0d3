-- Identity: POS terminals (store-scoped API keys), sessions (refresh-token
-- families, RFC 9700 rotation) and one-time tokens (email verification,
-- password reset, staff invitations). Only SHA-256 hashes of secrets are kept.

CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE business.terminals (
    id           uuid PRIMARY KEY,
    business_id  uuid NOT NULL REFERENCES business.businesses (id),
    brand_id     uuid REFERENCES business.brands (id),
    store_id     uuid NOT NULL REFERENCES business.stores (id),
    name         text NOT NULL,
    key_prefix   text NOT NULL,
    key_hash     bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX terminals_store_idx ON business.terminals (store_id, id);

CREATE TABLE identity.sessions (
    token_hash   bytea PRIMARY KEY,
    family_id    uuid NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id   uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX sessions_family_idx ON identity.sessions (family_id);
CREATE INDEX sessions_subject_idx ON identity.sessions (subject_id);
CREATE INDEX sessions_expires_idx ON identity.sessions (expires_at);

CREATE TABLE identity.one_time_tokens (
    token_hash bytea PRIMARY KEY,
    purpose    text NOT NULL,
    subject_id uuid,
    payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX one_time_tokens_expires_idx ON identity.one_time_tokens (expires_at);
