-- Stampede system of record, PostgreSQL.
-- Four schemas: customer (people who hold cards), business (the merchants, their
-- brands, stores and staff), loyalty (programs, cards, the ledger and the
-- transaction path's bookkeeping) and analytics (aggregates built by workers).
-- Never edit this file once applied anywhere: add a new numbered migration.

CREATE SCHEMA IF NOT EXISTS customer;
CREATE SCHEMA IF NOT EXISTS business;
CREATE SCHEMA IF NOT EXISTS loyalty;
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE customer.customers (
    id                uuid PRIMARY KEY,
    email             text NOT NULL,
    name              text NOT NULL,
    phone             text,
    joined_at         timestamptz NOT NULL,
    google_id         text,
    apple_id          text,
    marketing_consent boolean NOT NULL DEFAULT false,
    preferences       jsonb NOT NULL DEFAULT '{}'::jsonb,
    password_hash     text,
    email_verified_at timestamptz,
    deleted_at        timestamptz,
    updated_at        timestamptz NOT NULL
);
-- Emails are stored normalised (trimmed, lower-cased) by the domain's Email type.
CREATE UNIQUE INDEX customers_email_key ON customer.customers (email);
CREATE UNIQUE INDEX customers_google_id_key ON customer.customers (google_id) WHERE google_id IS NOT NULL;
CREATE UNIQUE INDEX customers_apple_id_key ON customer.customers (apple_id) WHERE apple_id IS NOT NULL;

CREATE TABLE business.businesses (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text,
    tax_id      text,
    logo_url    text,
    website     text,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1
);

CREATE TABLE business.brands (
    id          uuid PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    name        text NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX brands_business_idx ON business.brands (business_id, id);

CREATE TABLE business.stores (
    id          uuid PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    brand_id    uuid REFERENCES business.brands (id),
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'UTC',
    address     jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX stores_business_idx ON business.stores (business_id, id);

CREATE TABLE business.staff (
    id                   uuid PRIMARY KEY,
    email                text NOT NULL,
    name                 text NOT NULL,
    password_hash        text,
    must_change_password boolean NOT NULL DEFAULT false,
    is_active            boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX staff_email_key ON business.staff (email);

-- A membership gives one staff account one role, scoped to a business, or to one
-- brand or one store of it.
CREATE TABLE business.staff_memberships (
    id          uuid PRIMARY KEY,
    staff_id    uuid NOT NULL REFERENCES business.staff (id) ON DELETE CASCADE,
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'brand_manager', 'store_manager', 'cashier')),
    brand_id    uuid REFERENCES business.brands (id),
    store_id    uuid REFERENCES business.stores (id),
    created_at  timestamptz NOT NULL,
    CHECK ((role = 'brand_manager') = (brand_id IS NOT NULL)),
    CHECK ((role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL))
);
CREATE INDEX staff_memberships_staff_idx ON business.staff_memberships (staff_id);
CREATE INDEX staff_memberships_business_idx ON business.staff_memberships (business_id);

CREATE TABLE loyalty.programs (
    id          uuid PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    kind        text NOT NULL CHECK (kind IN ('stamps', 'points')),
    name        text NOT NULL,
    rules       jsonb NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX programs_business_idx ON loyalty.programs (business_id, id);

-- Every rule set a program ever had; a transaction names the version it ran under.
CREATE TABLE loyalty.program_versions (
    program_id uuid NOT NULL REFERENCES loyalty.programs (id),
    version    bigint NOT NULL,
    rules      jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, version)
);

CREATE TABLE loyalty.cards (
    id          uuid PRIMARY KEY,
    program_id  uuid NOT NULL REFERENCES loyalty.programs (id),
    customer_id uuid NOT NULL REFERENCES customer.customers (id),
    business_id uuid NOT NULL REFERENCES business.businesses (id),
    code        text NOT NULL,
    stamps      bigint NOT NULL DEFAULT 0 CHECK (stamps >= 0),
    points      bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    -- Rule bookkeeping the card state machine needs (daily caps, last stamp per
    -- store, earning lots for expiry), owned by the domain crate.
    state       jsonb NOT NULL DEFAULT '{}'::jsonb,
    version     bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (program_id, customer_id)
);
CREATE UNIQUE INDEX cards_code_key ON loyalty.cards (code);
CREATE INDEX cards_customer_idx ON loyalty.cards (customer_id);

CREATE TABLE loyalty.rewards (
    id           uuid PRIMARY KEY,
    program_id   uuid NOT NULL REFERENCES loyalty.programs (id),
    name         text NOT NULL,
    description  text,
    image_url    text,
    cost         bigint NOT NULL CHECK (cost > 0),
    stock        bigint CHECK (stock IS NULL OR stock >= 0),
    active_from  timestamptz,
    active_until timestamptz,
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint NOT NULL DEFAULT 1
);
CREATE INDEX rewards_program_idx ON loyalty.rewards (program_id);

CREATE TABLE loyalty.campaigns (
    id           uuid PRIMARY KEY,
    business_id  uuid NOT NULL REFERENCES business.businesses (id),
    program_id   uuid NOT NULL REFERENCES loyalty.programs (id),
    name         text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    -- brand and store ids the campaign applies at; empty means everywhere.
    targets      jsonb NOT NULL DEFAULT '{}'::jsonb,
    multiplier_pct integer NOT NULL DEFAULT 100 CHECK (multiplier_pct > 0),
    bonus_stamps integer NOT NULL DEFAULT 0 CHECK (bonus_stamps >= 0),
    max_per_card integer CHECK (max_per_card IS NULL OR max_per_card > 0),
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_program_idx ON loyalty.campaigns (program_id, starts_at);

-- The ledger: one row per applied operation, never updated.
CREATE TABLE loyalty.transactions (
    id              uuid PRIMARY KEY,
    card_id         uuid NOT NULL REFERENCES loyalty.cards (id),
    customer_id     uuid NOT NULL,
    business_id     uuid NOT NULL,
    store_id        uuid,
    program_id      uuid NOT NULL,
    program_version bigint NOT NULL,
    kind            text NOT NULL,
    stamps_delta    bigint NOT NULL DEFAULT 0,
    points_delta    bigint NOT NULL DEFAULT 0,
    amount_minor    bigint,
    currency        text,
    reward_id       uuid,
    reverses_id     uuid REFERENCES loyalty.transactions (id),
    terminal_id     uuid,
    staff_id        uuid,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL
);
CREATE INDEX transactions_card_idx ON loyalty.transactions (card_id, created_at, id);
CREATE INDEX transactions_customer_idx ON loyalty.transactions (customer_id, created_at, id);
CREATE INDEX transactions_business_idx ON loyalty.transactions (business_id, created_at);
-- A transaction is cancelled at most once.
CREATE UNIQUE INDEX transactions_reverses_key ON loyalty.transactions (reverses_id) WHERE reverses_id IS NOT NULL;

-- Idempotency records: the key, a fingerprint of the request and the full answer,
-- committed in the same transaction as the effect.
CREATE TABLE loyalty.idempotency (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      smallint NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires_idx ON loyalty.idempotency (expires_at);

-- The durable outbox: rows written with the effect, relayed to the history store
-- and the queues afterwards.
CREATE TABLE loyalty.outbox (
    seq            bigserial PRIMARY KEY,
    event_id       uuid NOT NULL UNIQUE,
    card_id        uuid,
    topic          text NOT NULL,
    payload        jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    delivered_at   timestamptz,
    attempts       integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending_idx ON loyalty.outbox (seq) WHERE delivered_at IS NULL;

CREATE TABLE analytics.daily_aggregates (
    business_id      uuid NOT NULL,
    store_id         uuid NOT NULL,
    program_id       uuid NOT NULL,
    day              date NOT NULL,
    stamps_issued    bigint NOT NULL DEFAULT 0,
    points_earned    bigint NOT NULL DEFAULT 0,
    rewards_redeemed bigint NOT NULL DEFAULT 0,
    active_customers bigint NOT NULL DEFAULT 0,
    new_customers    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, store_id, program_id, day)
);

-- Events an analytics worker has applied, so a redelivery changes nothing.
CREATE TABLE analytics.processed_events (
    event_id     uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL
);
