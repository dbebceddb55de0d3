-- Second factors: a TOTP secret per account (customer or staff), sealed with
-- a key only the servers hold, the last step a code was accepted for (each
-- code counts once), and single-use recovery codes (keyed hashes only).
-- A business may require its owners and admins to use one.
CREATE TABLE mfa_factors (
    subject_id   BLOB PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    secret       BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT,
    last_step    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mfa_recovery_codes (
    subject_id BLOB NOT NULL REFERENCES mfa_factors (subject_id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    PRIMARY KEY (subject_id, code_hash)
);

ALTER TABLE businesses ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
