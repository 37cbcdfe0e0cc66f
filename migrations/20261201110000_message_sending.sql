-- Sending scheduled messages: what the sender records on a message, two more message types,
-- the business's time zone, customers without a zone of their own (they read in the
-- business's), bounced addresses, and audit rows written by customers and by the system.

-- Two more types: the invoice itself (invoice.send) and "your visit is cancelled"
-- (ticket.cancel of a scheduled visit).
ALTER TABLE scheduled_messages DROP CONSTRAINT scheduled_messages_valid_type;
ALTER TABLE scheduled_messages ADD CONSTRAINT scheduled_messages_valid_type CHECK (message_type IN (
    'service_reminder', 'appointment_confirmation', 'appointment_reminder',
    'payment_reminder', 'custom', 'invoice', 'appointment_cancellation'));

ALTER TABLE scheduled_messages
    -- Why the sender skipped the message (status 'skipped' exactly when set).
    ADD COLUMN skip_reason text,
    -- Appointment messages: the ticket's scheduled_at they were made for. A message whose
    -- ticket moved since is skipped, never sent with a stale time.
    ADD COLUMN appointment_at timestamptz,
    -- A confirmation of a rescheduled visit: the time it moved from.
    ADD COLUMN previous_appointment_at timestamptz,
    -- message.send_now: out at once, even in quiet hours.
    ADD COLUMN ignore_quiet_hours boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT scheduled_messages_skip_reason CHECK (
        (status = 'skipped') = (skip_reason IS NOT NULL)),
    ADD CONSTRAINT scheduled_messages_valid_skip_reason CHECK (skip_reason IN (
        'customer_deleted', 'customer_archived', 'opted_out', 'no_email', 'bounced',
        'ticket_not_scheduled', 'appointment_moved', 'too_late', 'invoice_not_sent',
        'already_booked'));

-- The flows cancel a ticket's or an invoice's pending messages (a customer's use
-- scheduled_messages_customer_idx). No index mentions status or scheduled_for: the sender
-- changes a message's status twice per send, and with no indexed column touched those
-- updates are HOT (no index writes) as long as the page has room — hence the fillfactor.
-- The due-time index of the first migration goes: send jobs carry the due time now.
CREATE INDEX scheduled_messages_ticket_idx ON scheduled_messages (user_id, ticket_id)
    WHERE ticket_id IS NOT NULL;
CREATE INDEX scheduled_messages_invoice_idx ON scheduled_messages (user_id, invoice_id)
    WHERE invoice_id IS NOT NULL;
DROP INDEX scheduled_messages_due_idx;
ALTER TABLE scheduled_messages SET (fillfactor = 80);

-- The business's time zone: the week view counts its days in it, and customers without a zone
-- of their own read their emails in it.
ALTER TABLE users ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
-- users is granted per column (password_hash stays hidden): the new column needs its own.
GRANT SELECT (timezone) ON users TO fieldwork_app;

-- A customer's own zone is optional from now on (NULL: the business's). Existing rows keep
-- the zone they have.
ALTER TABLE customers ALTER COLUMN timezone DROP NOT NULL;
ALTER TABLE customers ALTER COLUMN timezone DROP DEFAULT;
-- When a permanent SMTP failure showed the address does not exist; cleared when the email
-- changes. Messages to a bounced address are skipped.
ALTER TABLE customers ADD COLUMN email_bounced_at timestamptz;

-- Who wrote an audit row: the signed-in business ('user', actor_id = the user), a customer
-- following an email link ('customer', actor_id = the customer) or the worker ('system',
-- actor_id NULL).
ALTER TABLE audit_log ADD COLUMN actor_type text NOT NULL DEFAULT 'user';
ALTER TABLE audit_log ADD CONSTRAINT audit_log_valid_actor_type CHECK (
    actor_type IN ('user', 'customer', 'system'));
