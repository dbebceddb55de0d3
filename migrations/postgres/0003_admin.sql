-- The admin API: where programs are available, campaigns as local-time windows
-- (evaluated in each store's time zone), and the audit log.

ALTER TABLE loyalty.programs ADD COLUMN description text;
-- Brand and store ids the program is available at; both empty = everywhere.
ALTER TABLE loyalty.programs ADD COLUMN availability jsonb NOT NULL DEFAULT '{"brand_ids": [], "store_ids": []}'::jsonb;

-- No campaign was ever stored in the old shape (UTC instants); replace it.
DROP TABLE loyalty.campaigns;
CREATE TABLE loyalty.campaigns (
    id             uuid PRIMARY KEY,
    business_id    uuid NOT NULL REFERENCES business.businesses (id),
    program_id     uuid NOT NULL REFERENCES loyalty.programs (id),
    body           jsonb NOT NULL,
    is_active      boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint NOT NULL DEFAULT 1
);
CREATE INDEX campaigns_program_idx ON loyalty.campaigns (program_id);

CREATE TABLE business.audit_events (
    id            uuid PRIMARY KEY,
    at            timestamptz NOT NULL,
    business_id   uuid,
    actor_kind    text NOT NULL,
    actor_id      uuid,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   uuid,
    before        jsonb,
    after         jsonb
);
CREATE INDEX audit_events_business_idx ON business.audit_events (business_id, id);
