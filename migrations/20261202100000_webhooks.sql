-- Audit fan-out (issue 10): every committed audit row becomes an event with a per-tenant
-- sequence, delivered to webhook subscriptions and to the live event stream.

-- The event sequence: assigned by the `webhook.fan_out` job to committed rows only, under a
-- per-tenant lock, so a tenant's sequence order is the order rows became visible and a
-- reader following the sequence never skips a row that commits later (docs/ARCHITECTURE.md).
ALTER TABLE audit_log ADD COLUMN sequence bigint;
UPDATE audit_log a SET sequence = s.n
  FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
          FROM audit_log) s
 WHERE a.id = s.id;
CREATE UNIQUE INDEX audit_log_sequence_idx ON audit_log (user_id, sequence)
    WHERE sequence IS NOT NULL;
-- What the fan-out still has to number: small, and only ever a few rows.
CREATE INDEX audit_log_unsequenced_idx ON audit_log (user_id, created_at, id)
    WHERE sequence IS NULL;
-- A writer queues a fan-out unless one is waiting: this answers "is one waiting?".
CREATE INDEX jobs_fan_out_waiting_idx ON jobs (user_id)
    WHERE kind = 'webhook.fan_out' AND state = 'available';
-- Still append-only otherwise: the application may only number rows.
GRANT UPDATE (sequence) ON audit_log TO fieldwork_app;

CREATE TABLE webhook_subscriptions (
    id                          uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id                     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                         text NOT NULL,
    -- Exact types (`customer.created`), `entity.*` or `*`.
    event_types                 text[] NOT NULL,
    description                 text,
    active                      boolean NOT NULL DEFAULT true,
    -- `whsec_` + base64 of 24 random bytes; the previous one stays valid for signing until
    -- previous_secret_expires_at (rotation window).
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    -- The last sequence this endpoint is done with (delivered, filtered out or given up).
    cursor                      bigint NOT NULL DEFAULT 0,
    -- Start of the current run of failed attempts (NULL after a success).
    failing_since               timestamptz,
    disabled_at                 timestamptz,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    deleted_at                  timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT webhook_subscriptions_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT webhook_subscriptions_disabled CHECK (disabled_at IS NULL OR NOT active)
);
CREATE INDEX webhook_subscriptions_user_idx ON webhook_subscriptions (user_id, id)
    WHERE deleted_at IS NULL;
CREATE TRIGGER webhook_subscriptions_updated_at BEFORE UPDATE ON webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_subscriptions_tenant ON webhook_subscriptions TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT, UPDATE ON webhook_subscriptions TO fieldwork_app;

-- One row per delivery attempt (read-only for clients).
CREATE TABLE webhook_deliveries (
    id               uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subscription_id  uuid NOT NULL,
    -- The audit row delivered; NULL for a ping.
    event_id         uuid,
    event_type       text NOT NULL,
    sequence         bigint,
    -- `delivery` (from the cursor), `redelivery` or `ping`.
    trigger          text NOT NULL,
    attempt          integer NOT NULL,
    -- `succeeded`, `failed` (will be retried), `exhausted` (no retry left), `refused` (the
    -- SSRF guard refused the target).
    status           text NOT NULL,
    response_status  integer,
    latency_ms       integer,
    response_body    text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_user_id_id_key UNIQUE (user_id, id),
    FOREIGN KEY (user_id, subscription_id) REFERENCES webhook_subscriptions (user_id, id),
    CONSTRAINT webhook_deliveries_valid_status CHECK (
        status IN ('succeeded', 'failed', 'exhausted', 'refused')),
    CONSTRAINT webhook_deliveries_valid_trigger CHECK (
        trigger IN ('delivery', 'redelivery', 'ping'))
);
CREATE INDEX webhook_deliveries_subscription_idx
    ON webhook_deliveries (user_id, subscription_id, id);
CREATE INDEX webhook_deliveries_event_idx
    ON webhook_deliveries (user_id, subscription_id, event_id) WHERE event_id IS NOT NULL;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT ON webhook_deliveries TO fieldwork_app;

-- The `fieldwork_webhook_endpoints_disabled` gauge (a system-path count across tenants): the
-- system role sees whether subscriptions are disabled, nothing else.
CREATE POLICY webhook_subscriptions_system_count ON webhook_subscriptions FOR SELECT
    TO fieldwork_system USING (true);
GRANT SELECT (id, disabled_at, deleted_at) ON webhook_subscriptions TO fieldwork_system;
