-- Second factors: a TOTP secret per account (customer or staff), sealed with
-- a key only the servers hold, the last step a code was accepted for (each
-- code counts once), and single-use recovery codes (keyed hashes only).
-- A business may require its owners and admins to use one.
CREATE TABLE identity.mfa_factors (
    subject_id   uuid PRIMARY KEY,
    subject_kind text NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    secret       bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    int8 NOT NULL DEFAULT 0
);

CREATE TABLE identity.mfa_recovery_codes (
    subject_id uuid NOT NULL REFERENCES identity.mfa_factors (subject_id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    PRIMARY KEY (subject_id, code_hash)
);

ALTER TABLE business.businesses ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;
