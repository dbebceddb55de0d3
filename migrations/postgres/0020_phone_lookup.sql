-- Phone numbers are kept as their digits, with a leading + if written with
-- one, so the counter finds a customer whatever layout the number is typed
-- in. Numbers stored before are brought to that form here.
UPDATE customer.customers
SET phone = CASE WHEN left(btrim(phone), 1) = '+' THEN '+' ELSE '' END || regexp_replace(phone, '[^0-9]', '', 'g')
WHERE phone IS NOT NULL;
CREATE INDEX customers_phone_idx ON customer.customers (phone) WHERE phone IS NOT NULL;
