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

-- Analytics (the analytics worker): who was active on a day, and when a
-- customer was first seen at a business, so daily_aggregates can count active
-- and new customers exactly once however often an event is delivered.
CREATE TABLE daily_customers (
    business_id BLOB NOT NULL,
    store_id    BLOB NOT NULL,
    program_id  BLOB NOT NULL,
    day         TEXT NOT NULL,
    customer_id BLOB NOT NULL,
    PRIMARY KEY (business_id, store_id, program_id, day, customer_id)
);
CREATE TABLE first_seen (
    business_id BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (business_id, customer_id)
);
-- App usage the API reports (sign-ins, card views), per day; business_id is
-- the nil uuid for events that belong to no business (a sign-in).
CREATE TABLE usage_daily (
    day         TEXT NOT NULL,
    event       TEXT NOT NULL,
    business_id BLOB NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, event, business_id)
);

-- Exports a business or a customer asked for; the export worker fills them in.
CREATE TABLE exports (
    id            BLOB PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('transactions', 'customers', 'my_data')),
    business_id   BLOB,
    customer_id   BLOB,
    staff_id      BLOB,
    date_from     TEXT,
    date_to       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    object_key    TEXT,
    rows          INTEGER,
    error         TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE INDEX exports_business_idx ON exports (business_id, created_at);
