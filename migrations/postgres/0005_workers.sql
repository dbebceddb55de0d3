-- The workers' inbox: which message each consumer has handled, so a
-- redelivered message (SQS is at-least-once) changes nothing the second time.
-- 'busy' rows are leases: an attempt that died is taken over after the lease.

CREATE TABLE loyalty.processed_messages (
    consumer   text NOT NULL,
    message_id uuid NOT NULL,
    state      text NOT NULL CHECK (state IN ('busy', 'done')),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (consumer, message_id)
);
