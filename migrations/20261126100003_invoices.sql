-- Invoices, their items, and the per-tenant counter that numbers them without gaps.

CREATE TABLE invoices (
    id          uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    ticket_id   uuid,
    number      text NOT NULL,
    status      text NOT NULL DEFAULT 'draft',
    currency    text NOT NULL DEFAULT 'USD',
    -- Sum of the items' amounts, written in the same transaction as the items.
    total       numeric(12,2) NOT NULL DEFAULT 0,
    notes       text,
    due_at      timestamptz,
    sent_at     timestamptz,
    paid_at     timestamptz,
    voided_at   timestamptz,
    void_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT invoices_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT invoices_number_key UNIQUE (user_id, number),
    CONSTRAINT invoices_customer_fkey FOREIGN KEY (user_id, customer_id)
        REFERENCES customers (user_id, id),
    CONSTRAINT invoices_ticket_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id),
    CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'sent', 'paid', 'void')),
    CONSTRAINT invoices_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT invoices_total_non_negative CHECK (total >= 0)
);
CREATE INDEX invoices_customer_idx ON invoices (user_id, customer_id);
CREATE TRIGGER invoices_updated_at BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE invoice_items (
    id          uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invoice_id  uuid NOT NULL,
    product_id  uuid,
    position    integer NOT NULL,
    description text NOT NULL,
    quantity    numeric(12,3) NOT NULL,
    unit_price  numeric(10,2) NOT NULL,
    -- quantity × unit_price rounded to cents (half away from zero), computed by the application.
    amount      numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT invoice_items_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT invoice_items_position_key UNIQUE (user_id, invoice_id, position),
    -- Items belong to their invoice: replaced wholesale while the invoice is a draft.
    CONSTRAINT invoice_items_invoice_fkey FOREIGN KEY (user_id, invoice_id)
        REFERENCES invoices (user_id, id) ON DELETE CASCADE,
    CONSTRAINT invoice_items_product_fkey FOREIGN KEY (user_id, product_id)
        REFERENCES products (user_id, id),
    CONSTRAINT invoice_items_quantity_positive CHECK (quantity > 0),
    CONSTRAINT invoice_items_unit_price_non_negative CHECK (unit_price >= 0),
    CONSTRAINT invoice_items_amount_exact CHECK (amount = round(quantity * unit_price, 2))
);
CREATE TRIGGER invoice_items_updated_at BEFORE UPDATE ON invoice_items
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- The last invoice number issued per tenant. Creating an invoice bumps it with
-- INSERT .. ON CONFLICT DO UPDATE .. RETURNING inside the creating transaction: the row lock
-- serialises concurrent creations and a rollback returns the number, so numbers have no gaps.
CREATE TABLE invoice_counters (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_number bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id),
    CONSTRAINT invoice_counters_positive CHECK (last_number > 0)
);
CREATE TRIGGER invoice_counters_updated_at BEFORE UPDATE ON invoice_counters
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
ALTER TABLE invoice_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_items FORCE ROW LEVEL SECURITY;
ALTER TABLE invoice_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY invoices_tenant ON invoices TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
CREATE POLICY invoice_items_tenant ON invoice_items TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
CREATE POLICY invoice_counters_tenant ON invoice_counters TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
-- Invoices are soft-deleted (no DELETE); items have no soft delete of their own and are
-- replaced while their invoice is a draft; counters are never deleted.
GRANT SELECT, INSERT, UPDATE ON invoices TO fieldwork_app;
GRANT SELECT, INSERT, DELETE ON invoice_items TO fieldwork_app;
GRANT SELECT, INSERT, UPDATE ON invoice_counters TO fieldwork_app;
