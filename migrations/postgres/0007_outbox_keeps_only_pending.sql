-- The relay now deletes the outbox rows it delivered (the ledger is the
-- record; delivered rows only grew the database). Rows delivered before this
-- version go too.
DELETE FROM loyalty.outbox WHERE delivered_at IS NOT NULL;
