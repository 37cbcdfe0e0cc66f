-- Products: physical items sold alongside services, referenced by invoice items.

CREATE TABLE products (
    id          uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text,
    price       numeric(10,2) NOT NULL,
    sku         text,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT products_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT products_price_non_negative CHECK (price >= 0)
);
-- A SKU names one live product per tenant (case-insensitively); deleting frees it.
CREATE UNIQUE INDEX products_sku_key ON products (user_id, lower(sku))
    WHERE deleted_at IS NULL AND sku IS NOT NULL;
CREATE TRIGGER products_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
-- Tenant isolation only; soft-deleted rows are hidden by the queries.
CREATE POLICY products_tenant ON products TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
-- Soft delete only: no DELETE grant.
GRANT SELECT, INSERT, UPDATE ON products TO fieldwork_app;
