-- See migrations/postgres/0004_runtime.sql.

ALTER TABLE cards ADD COLUMN next_expiry_at TEXT;
CREATE INDEX cards_next_expiry_idx ON cards (next_expiry_at) WHERE next_expiry_at IS NOT NULL;

ALTER TABLE transactions ADD COLUMN counts TEXT NOT NULL DEFAULT 'stamps' CHECK (counts IN ('stamps', 'points'));
ALTER TABLE transactions ADD COLUMN balance_after INTEGER NOT NULL DEFAULT 0;

CREATE TABLE transaction_history (
    transaction_id BLOB PRIMARY KEY,
    card_id        BLOB NOT NULL,
    customer_id    BLOB NOT NULL,
    at             TEXT NOT NULL,
    item           TEXT NOT NULL
);
CREATE INDEX transaction_history_card_idx ON transaction_history (card_id, at, transaction_id);
CREATE INDEX transaction_history_customer_idx ON transaction_history (customer_id, at, transaction_id);
