-- Marketing consent is given to a business, not to the platform. A customer
-- who had agreed to marketing keeps that agreement with every business whose
-- card they held; a business joined from now on hears nothing until asked.
CREATE TABLE customer.consents (
    customer_id uuid NOT NULL REFERENCES customer.customers (id),
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    marketing   boolean NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (customer_id, business_id)
);
CREATE INDEX consents_marketing_idx ON customer.consents (business_id, customer_id) WHERE marketing;

INSERT INTO customer.consents (customer_id, business_id, marketing, updated_at)
SELECT DISTINCT c.customer_id, c.business_id, true, now()
FROM loyalty.cards c JOIN customer.customers u ON u.id = c.customer_id
WHERE u.marketing_consent AND u.deleted_at IS NULL;

ALTER TABLE customer.customers DROP COLUMN marketing_consent;
