-- Marketing mailings and who each goes to. The audience is fixed when the
-- mailing is created; a recipient is 'queued' until its message is on the
-- email queue ('published'), then 'sent' or 'skipped' by the email worker.
-- Recipients name customers without a foreign key: erasing an account
-- leaves an id that points nowhere, never a reason to refuse the erasure.
CREATE TABLE mailings (
    id                 BLOB PRIMARY KEY,
    business_id        BLOB NOT NULL REFERENCES businesses (id),
    program_id         BLOB NOT NULL REFERENCES programs (id),
    active_within_days INTEGER,
    inactive_for_days  INTEGER,
    subject            TEXT NOT NULL,
    body               TEXT NOT NULL,
    created_by         BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    recipients         INTEGER NOT NULL
);
CREATE INDEX mailings_business_idx ON mailings (business_id, created_at DESC);

CREATE TABLE mailing_recipients (
    mailing_id  BLOB NOT NULL REFERENCES mailings (id),
    customer_id BLOB NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'published', 'sent', 'skipped')),
    PRIMARY KEY (mailing_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX mailing_recipients_queued_idx ON mailing_recipients (mailing_id) WHERE status = 'queued';
