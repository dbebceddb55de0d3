-- The workers' inbox: which message each consumer has handled, so a
-- redelivered message (SQS is at-least-once) changes nothing the second time.
-- 'busy' rows are leases: an attempt that died is taken over after the lease.

CREATE TABLE processed_messages (
    consumer   TEXT NOT NULL,
    message_id BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('busy', 'done')),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (consumer, message_id)
);
