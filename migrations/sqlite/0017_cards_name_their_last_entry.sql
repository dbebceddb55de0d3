-- A card row names the ledger entry whose write made its state, and the
-- group commit checks it beside the version: an operation queued behind its
-- own writer's pending write must never land on a state another writer made
-- with the same version number. NULL: not written since.
ALTER TABLE cards ADD COLUMN last_entry_id BLOB;
