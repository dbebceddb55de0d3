-- Marketing mailings and who each goes to. The audience is fixed when the
-- mailing is created; a recipient is 'queued' until its message is on the
-- email queue ('published'), then 'sent' or 'skipped' by the email worker.
-- Recipients name customers without a foreign key: erasing an account
-- leaves an id that points nowhere, never a reason to refuse the erasure.
CREATE TABLE business.mailings (
    id                 uuid PRIMARY KEY,
    business_id        uuid NOT NULL REFERENCES business.businesses (id),
    program_id         uuid NOT NULL REFERENCES loyalty.programs (id),
    active_within_days integer,
    inactive_for_days  integer,
    subject            text NOT NULL,
    body               text NOT NULL,
    created_by         uuid NOT NULL,
    created_at         timestamptz NOT NULL,
    recipients         bigint NOT NULL
);
CREATE INDEX mailings_business_idx ON business.mailings (business_id, created_at DESC);

CREATE TABLE business.mailing_recipients (
    mailing_id  uuid NOT NULL REFERENCES business.mailings (id),
    customer_id uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'published', 'sent', 'skipped')),
    PRIMARY KEY (mailing_id, customer_id)
);
CREATE INDEX mailing_recipients_queued_idx ON business.mailing_recipients (mailing_id) WHERE status = 'queued';
