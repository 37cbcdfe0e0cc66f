-- Tickets: jobs on site for a customer, moved through their states by actions.

CREATE TABLE tickets (
    id                   uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id          uuid NOT NULL,
    title                text NOT NULL,
    description          text,
    status               text NOT NULL DEFAULT 'draft',
    scheduled_at         timestamptz,
    duration_minutes     integer NOT NULL DEFAULT 60,
    technician_notes     text,
    -- What extraction found in the technician notes; null until extraction ran.
    extracted_attributes jsonb,
    closed_at            timestamptz,
    cancel_reason        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT tickets_user_id_id_key UNIQUE (user_id, id),
    -- The tenant travels with the reference: a ticket can never name another tenant's customer.
    CONSTRAINT tickets_customer_fkey FOREIGN KEY (user_id, customer_id)
        REFERENCES customers (user_id, id),
    CONSTRAINT tickets_status_check
        CHECK (status IN ('draft', 'scheduled', 'in_progress', 'completed', 'cancelled')),
    CONSTRAINT tickets_scheduled_has_time
        CHECK (status NOT IN ('scheduled', 'in_progress') OR scheduled_at IS NOT NULL),
    CONSTRAINT tickets_duration_range CHECK (duration_minutes BETWEEN 1 AND 10080),
    CONSTRAINT tickets_extracted_object
        CHECK (extracted_attributes IS NULL OR jsonb_typeof(extracted_attributes) = 'object')
);
-- The week view: a tenant's live tickets in a time range, ordered by scheduled_at.
CREATE INDEX tickets_week_idx ON tickets (user_id, scheduled_at, id)
    WHERE deleted_at IS NULL AND scheduled_at IS NOT NULL;
CREATE INDEX tickets_customer_idx ON tickets (user_id, customer_id);
CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tickets_tenant ON tickets TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT, UPDATE ON tickets TO fieldwork_app;
