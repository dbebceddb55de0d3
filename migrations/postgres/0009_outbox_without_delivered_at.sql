-- The relay deletes what it delivered (0007), so no outbox row ever had a
-- delivery time again: the column only made every query say "pending".
ALTER TABLE loyalty.outbox DROP COLUMN delivered_at;
