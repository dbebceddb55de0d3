-- Fewer index and trigger writes per committed operation.
--
-- The ledger's foreign key to the cards ran a trigger per inserted row (a
-- lookup of the card and a key-share lock on it). Every ledger row is
-- written by the commit that updates its card under a version check, in the
-- same statement (`loyalty.commit_batch`, step 5 writes rows only for cards
-- step 3 updated), and cards are never deleted: the constraint only checked
-- again what the commit had just proved.
ALTER TABLE loyalty.transactions DROP CONSTRAINT transactions_card_id_fkey;

-- A card is updated on every operation. With full pages each update put the
-- new version on another page and added an entry to every index of the
-- table (five); with room left on the page it stays there (a HOT update:
-- no index entry, the old version pruned in place). Applies to pages
-- written from now on.
ALTER TABLE loyalty.cards SET (fillfactor = 80);
