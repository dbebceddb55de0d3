-- The outbox holds only pending rows since 0007: the partial index on pending
-- rows repeated the primary key's order and cost a page write per insert and
-- per delete.
DROP INDEX loyalty.outbox_pending_idx;
