-- The embedded default's queues (email, transaction, analytics, export), kept
-- in the database: held in memory before, so a message the outbox relay had
-- handed over (and deleted from the outbox), or an account mail, was lost if
-- the process died before a worker handled it. A message is taken under a
-- lease (hidden until `visible_ms`, unix milliseconds), deleted once handled,
-- and `buried` (with the reason) when given up on. The AWS shape uses SQS
-- instead and leaves this table empty.
CREATE TABLE loyalty.queue_messages (
    seq            bigserial PRIMARY KEY,
    topic          TEXT NOT NULL,
    message_id     UUID NOT NULL,
    message_type   TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    request_id     TEXT,
    body           TEXT NOT NULL,
    visible_ms     BIGINT NOT NULL,
    receives       INTEGER NOT NULL DEFAULT 0,
    buried         TEXT
);
-- Takers read waiting messages in order; buried ones stay out of their way.
CREATE INDEX queue_messages_waiting ON loyalty.queue_messages (seq, visible_ms) WHERE buried IS NULL;
