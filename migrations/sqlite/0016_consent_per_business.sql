-- Marketing consent is given to a business, not to the platform. A customer
-- who had agreed to marketing keeps that agreement with every business whose
-- card they held; a business joined from now on hears nothing until asked.
CREATE TABLE consents (
    customer_id BLOB NOT NULL REFERENCES customers (id),
    business_id BLOB NOT NULL REFERENCES businesses (id),
    marketing   INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, business_id)
) WITHOUT ROWID;
CREATE INDEX consents_marketing_idx ON consents (business_id, customer_id) WHERE marketing;

INSERT INTO consents (customer_id, business_id, marketing, updated_at)
SELECT DISTINCT c.customer_id, c.business_id, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
FROM cards c JOIN customers u ON u.id = c.customer_id
WHERE u.marketing_consent AND u.deleted_at IS NULL;

ALTER TABLE customers DROP COLUMN marketing_consent;
