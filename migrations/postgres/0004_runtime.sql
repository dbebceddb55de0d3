-- The card runtime: the expiry sweep's index, what a ledger row needs to be
-- read back on its own, and the SQL transaction history store (the embedded
-- default's stand-in for the DynamoDB table).

ALTER TABLE loyalty.cards ADD COLUMN next_expiry_at timestamptz;
CREATE INDEX cards_next_expiry_idx ON loyalty.cards (next_expiry_at) WHERE next_expiry_at IS NOT NULL;

ALTER TABLE loyalty.transactions ADD COLUMN counts text NOT NULL DEFAULT 'stamps' CHECK (counts IN ('stamps', 'points'));
ALTER TABLE loyalty.transactions ADD COLUMN balance_after bigint NOT NULL DEFAULT 0;

CREATE TABLE loyalty.transaction_history (
    transaction_id uuid PRIMARY KEY,
    card_id        uuid NOT NULL,
    customer_id    uuid NOT NULL,
    at             timestamptz NOT NULL,
    item           jsonb NOT NULL
);
CREATE INDEX transaction_history_card_idx ON loyalty.transaction_history (card_id, at, transaction_id);
CREATE INDEX transaction_history_customer_idx ON loyalty.transaction_history (customer_id, at, transaction_id);
