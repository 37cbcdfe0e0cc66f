-- Customers and the audit log.

CREATE TABLE customers (
    id            uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_name    text NOT NULL,
    last_name     text,
    email         text,
    phone         text,
    address       text,
    timezone      text NOT NULL DEFAULT 'UTC',
    notes         text,
    attributes    jsonb NOT NULL DEFAULT '{}'::jsonb,
    email_opt_out boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    -- What fuzzy search matches against (names, email, phone), lower-cased.
    search_text   text GENERATED ALWAYS AS (lower(
        first_name || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')
    )) STORED,
    PRIMARY KEY (id),
    -- The tenant-scoped key other tenant tables reference: (user_id, customer_id).
    CONSTRAINT customers_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT customers_attributes_object CHECK (jsonb_typeof(attributes) = 'object')
);
CREATE INDEX customers_search_trgm_idx ON customers USING gin (search_text gin_trgm_ops);
CREATE TRIGGER customers_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
-- Tenant isolation only; soft-deleted rows are hidden by the queries, not by the policy, so that
-- the soft delete itself (an UPDATE setting deleted_at) passes the policy's WITH CHECK.
CREATE POLICY customers_tenant ON customers TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT, UPDATE ON customers TO fieldwork_app;

CREATE TABLE audit_log (
    id          uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entity_type text NOT NULL,
    entity_id   uuid NOT NULL,
    action      text NOT NULL,
    changes     jsonb NOT NULL DEFAULT '{}'::jsonb,
    actor_id    uuid,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT audit_log_user_id_id_key UNIQUE (user_id, id)
);
CREATE INDEX audit_log_entity_idx ON audit_log (user_id, entity_type, entity_id, id);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant ON audit_log TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
-- Append-only for the application: no UPDATE or DELETE grant.
GRANT SELECT, INSERT ON audit_log TO fieldwork_app;
