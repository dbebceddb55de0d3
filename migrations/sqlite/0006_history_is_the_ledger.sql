-- The SQL history backend reads the ledger (transactions) directly:
-- the copy the outbox relay kept here duplicated every ledger row.
DROP TABLE transaction_history;
