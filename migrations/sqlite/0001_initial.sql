-- Stampede system of record, SQLite (the embedded default).
-- The same tables as migrations/postgres, without schemas: SQLite has none, so the
-- PostgreSQL schema name is dropped (customer.customers -> customers).
-- uuids are 16-byte blobs, times are RFC 3339 text in UTC, json is text.
-- Never edit this file once applied anywhere: add a new numbered migration.

CREATE TABLE customers (
    id                BLOB PRIMARY KEY,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    phone             TEXT,
    joined_at         TEXT NOT NULL,
    google_id         TEXT,
    apple_id          TEXT,
    marketing_consent INTEGER NOT NULL DEFAULT 0,
    preferences       TEXT NOT NULL DEFAULT '{}',
    password_hash     TEXT,
    email_verified_at TEXT,
    deleted_at        TEXT,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE UNIQUE INDEX customers_google_id_key ON customers (google_id) WHERE google_id IS NOT NULL;
CREATE UNIQUE INDEX customers_apple_id_key ON customers (apple_id) WHERE apple_id IS NOT NULL;

CREATE TABLE businesses (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    tax_id      TEXT,
    logo_url    TEXT,
    website     TEXT,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE brands (
    id          BLOB PRIMARY KEY,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    name        TEXT NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX brands_business_idx ON brands (business_id, id);

CREATE TABLE stores (
    id          BLOB PRIMARY KEY,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    brand_id    BLOB REFERENCES brands (id),
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    address     TEXT NOT NULL DEFAULT '{}',
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX stores_business_idx ON stores (business_id, id);

CREATE TABLE staff (
    id                   BLOB PRIMARY KEY,
    email                TEXT NOT NULL,
    name                 TEXT NOT NULL,
    password_hash        TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    is_active            INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX staff_email_key ON staff (email);

CREATE TABLE staff_memberships (
    id          BLOB PRIMARY KEY,
    staff_id    BLOB NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'brand_manager', 'store_manager', 'cashier')),
    brand_id    BLOB REFERENCES brands (id),
    store_id    BLOB REFERENCES stores (id),
    created_at  TEXT NOT NULL,
    CHECK ((role = 'brand_manager') = (brand_id IS NOT NULL)),
    CHECK ((role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL))
);
CREATE INDEX staff_memberships_staff_idx ON staff_memberships (staff_id);
CREATE INDEX staff_memberships_business_idx ON staff_memberships (business_id);

CREATE TABLE programs (
    id          BLOB PRIMARY KEY,
    business_id BLOB NOT NULL REFERENCES businesses (id),
    kind        TEXT NOT NULL CHECK (kind IN ('stamps', 'points')),
    name        TEXT NOT NULL,
    rules       TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX programs_business_idx ON programs (business_id, id);

CREATE TABLE program_versions (
    program_id BLOB NOT NULL REFERENCES programs (id),
    version    INTEGER NOT NULL,
    rules      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (program_id, version)
);

CREATE TABLE cards (
    id          BLOB PRIMARY KEY,
    program_id  BLOB NOT NULL REFERENCES programs (id),
    customer_id BLOB NOT NULL REFERENCES customers (id),
    business_id BLOB NOT NULL REFERENCES businesses (id),
    code        TEXT NOT NULL,
    stamps      INTEGER NOT NULL DEFAULT 0 CHECK (stamps >= 0),
    points      INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    state       TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (program_id, customer_id)
);
CREATE UNIQUE INDEX cards_code_key ON cards (code);
CREATE INDEX cards_customer_idx ON cards (customer_id);

CREATE TABLE rewards (
    id           BLOB PRIMARY KEY,
    program_id   BLOB NOT NULL REFERENCES programs (id),
    name         TEXT NOT NULL,
    description  TEXT,
    image_url    TEXT,
    cost         INTEGER NOT NULL CHECK (cost > 0),
    stock        INTEGER CHECK (stock IS NULL OR stock >= 0),
    active_from  TEXT,
    active_until TEXT,
    is_active    INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX rewards_program_idx ON rewards (program_id);

CREATE TABLE campaigns (
    id             BLOB PRIMARY KEY,
    business_id    BLOB NOT NULL REFERENCES businesses (id),
    program_id     BLOB NOT NULL REFERENCES programs (id),
    name           TEXT NOT NULL,
    starts_at      TEXT NOT NULL,
    ends_at        TEXT NOT NULL,
    targets        TEXT NOT NULL DEFAULT '{}',
    multiplier_pct INTEGER NOT NULL DEFAULT 100 CHECK (multiplier_pct > 0),
    bonus_stamps   INTEGER NOT NULL DEFAULT 0 CHECK (bonus_stamps >= 0),
    max_per_card   INTEGER CHECK (max_per_card IS NULL OR max_per_card > 0),
    is_active      INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_program_idx ON campaigns (program_id, starts_at);

CREATE TABLE transactions (
    id              BLOB PRIMARY KEY,
    card_id         BLOB NOT NULL REFERENCES cards (id),
    customer_id     BLOB NOT NULL,
    business_id     BLOB NOT NULL,
    store_id        BLOB,
    program_id      BLOB NOT NULL,
    program_version INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    stamps_delta    INTEGER NOT NULL DEFAULT 0,
    points_delta    INTEGER NOT NULL DEFAULT 0,
    amount_minor    INTEGER,
    currency        TEXT,
    reward_id       BLOB,
    reverses_id     BLOB REFERENCES transactions (id),
    terminal_id     BLOB,
    staff_id        BLOB,
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX transactions_card_idx ON transactions (card_id, created_at, id);
CREATE INDEX transactions_customer_idx ON transactions (customer_id, created_at, id);
CREATE INDEX transactions_business_idx ON transactions (business_id, created_at);
CREATE UNIQUE INDEX transactions_reverses_key ON transactions (reverses_id) WHERE reverses_id IS NOT NULL;

CREATE TABLE idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires_idx ON idempotency (expires_at);

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB NOT NULL UNIQUE,
    card_id      BLOB,
    topic        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE delivered_at IS NULL;

CREATE TABLE daily_aggregates (
    business_id      BLOB NOT NULL,
    store_id         BLOB NOT NULL,
    program_id       BLOB NOT NULL,
    day              TEXT NOT NULL,
    stamps_issued    INTEGER NOT NULL DEFAULT 0,
    points_earned    INTEGER NOT NULL DEFAULT 0,
    rewards_redeemed INTEGER NOT NULL DEFAULT 0,
    active_customers INTEGER NOT NULL DEFAULT 0,
    new_customers    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, store_id, program_id, day)
);

CREATE TABLE processed_events (
    event_id     BLOB PRIMARY KEY,
    processed_at TEXT NOT NULL
);
