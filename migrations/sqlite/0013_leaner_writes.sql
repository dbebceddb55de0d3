-- The tables that only answer "seen already?" by their primary key keep their
-- rows in that key's b-tree (WITHOUT ROWID): one b-tree written per row
-- instead of a table and its key's index. A busy day writes one
-- daily_customers row per customer and store, one first_seen row per new
-- customer.
CREATE TABLE daily_customers_new (
    business_id BLOB NOT NULL,
    store_id    BLOB NOT NULL,
    program_id  BLOB NOT NULL,
    day         TEXT NOT NULL,
    customer_id BLOB NOT NULL,
    PRIMARY KEY (business_id, store_id, program_id, day, customer_id)
) WITHOUT ROWID;
INSERT INTO daily_customers_new SELECT business_id, store_id, program_id, day, customer_id FROM daily_customers;
DROP TABLE daily_customers;
ALTER TABLE daily_customers_new RENAME TO daily_customers;

CREATE TABLE first_seen_new (
    business_id BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (business_id, customer_id)
) WITHOUT ROWID;
INSERT INTO first_seen_new SELECT business_id, customer_id, day FROM first_seen;
DROP TABLE first_seen;
ALTER TABLE first_seen_new RENAME TO first_seen;
