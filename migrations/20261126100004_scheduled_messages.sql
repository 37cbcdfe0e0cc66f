-- Scheduled messages: what will be sent to a customer, when, and how it went.
-- This migration builds the table; sending comes with the job engine.

CREATE TABLE scheduled_messages (
    id            uuid NOT NULL DEFAULT uuid_generate_v7(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id   uuid NOT NULL,
    ticket_id     uuid,
    invoice_id    uuid,
    message_type  text NOT NULL,
    channel       text NOT NULL DEFAULT 'email',
    scheduled_for timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending',
    subject       text,
    body          text,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    sent_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT scheduled_messages_user_id_id_key UNIQUE (user_id, id),
    CONSTRAINT scheduled_messages_customer_fkey FOREIGN KEY (user_id, customer_id)
        REFERENCES customers (user_id, id),
    CONSTRAINT scheduled_messages_ticket_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id),
    CONSTRAINT scheduled_messages_invoice_fkey FOREIGN KEY (user_id, invoice_id)
        REFERENCES invoices (user_id, id),
    CONSTRAINT scheduled_messages_valid_type CHECK (message_type IN (
        'service_reminder', 'appointment_confirmation', 'appointment_reminder',
        'payment_reminder', 'custom')),
    CONSTRAINT scheduled_messages_valid_channel CHECK (channel IN ('email')),
    CONSTRAINT scheduled_messages_valid_status CHECK (status IN (
        'pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped')),
    -- Only custom messages carry their own subject and body (the others are rendered from
    -- templates), and a custom message always has both.
    CONSTRAINT scheduled_messages_custom_text CHECK (
        (message_type = 'custom' AND subject IS NOT NULL AND body IS NOT NULL)
        OR (message_type <> 'custom' AND subject IS NULL AND body IS NULL)),
    CONSTRAINT scheduled_messages_attempts_non_negative CHECK (attempts >= 0)
);
-- What the sender will scan for: pending messages by due time.
CREATE INDEX scheduled_messages_due_idx ON scheduled_messages (scheduled_for)
    WHERE status = 'pending' AND deleted_at IS NULL;
CREATE INDEX scheduled_messages_customer_idx ON scheduled_messages (user_id, customer_id);
CREATE TRIGGER scheduled_messages_updated_at BEFORE UPDATE ON scheduled_messages
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

ALTER TABLE scheduled_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE scheduled_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY scheduled_messages_tenant ON scheduled_messages TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT, UPDATE ON scheduled_messages TO fieldwork_app;
