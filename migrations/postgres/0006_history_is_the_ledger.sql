-- The SQL history backend reads the ledger (loyalty.transactions) directly:
-- the copy the outbox relay kept here duplicated every ledger row.
DROP TABLE loyalty.transaction_history;
