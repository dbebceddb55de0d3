-- Phone numbers are kept as their digits, with a leading + if written with
-- one, so the counter finds a customer whatever layout the number is typed
-- in. Numbers stored before are brought to that form here (the profile
-- allowed only digits, spaces and + - ( ) . /).
UPDATE customers
SET phone = (CASE WHEN substr(trim(phone), 1, 1) = '+' THEN '+' ELSE '' END)
    || replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', ''), '+', '')
WHERE phone IS NOT NULL;
CREATE INDEX customers_phone_idx ON customers (phone) WHERE phone IS NOT NULL;
