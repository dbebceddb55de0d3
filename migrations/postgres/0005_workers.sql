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

-- Analytics (the analytics worker): who was active on a day, and when a
-- customer was first seen at a business, so daily_aggregates can count active
-- and new customers exactly once however often an event is delivered.
CREATE TABLE analytics.daily_customers (
    business_id uuid NOT NULL,
    store_id    uuid NOT NULL,
    program_id  uuid NOT NULL,
    day         date NOT NULL,
    customer_id uuid NOT NULL,
    PRIMARY KEY (business_id, store_id, program_id, day, customer_id)
);
CREATE TABLE analytics.first_seen (
    business_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (business_id, customer_id)
);
-- App usage the API reports (sign-ins, card views), per day; business_id is
-- the nil uuid for events that belong to no business (a sign-in).
CREATE TABLE analytics.usage_daily (
    day         date NOT NULL,
    event       text NOT NULL,
    business_id uuid NOT NULL,
    count       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, event, business_id)
);

-- Exports a business or a customer asked for; the export worker fills them in.
CREATE TABLE loyalty.exports (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('transactions', 'customers', 'my_data')),
    business_id   uuid,
    customer_id   uuid,
    staff_id      uuid,
    date_from     date,
    date_to       date,
    status        text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    object_key    text,
    rows          bigint,
    error         text,
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX exports_business_idx ON loyalty.exports (business_id, created_at);
