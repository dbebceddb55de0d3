-- The outbox holds only pending rows since 0007, so its partial index on
-- pending rows repeated the table's own order; and AUTOINCREMENT's promise (a
-- seq never reused, even after the newest row is deleted) served nobody, since
-- the relay deletes a row only after reading and delivering it. Each cost a
-- page in every group commit's WAL: two of the thirteen pages a
-- one-operation commit wrote (sqlite_sequence and the index).
CREATE TABLE outbox_lean (
    seq          INTEGER PRIMARY KEY,
    event_id     BLOB NOT NULL UNIQUE,
    card_id      BLOB,
    topic        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_lean (seq, event_id, card_id, topic, payload, created_at, delivered_at, attempts)
    SELECT seq, event_id, card_id, topic, payload, created_at, delivered_at, attempts FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_lean RENAME TO outbox;
