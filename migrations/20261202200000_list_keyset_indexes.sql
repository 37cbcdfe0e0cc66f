-- Plans that do not depend on statistics (issue 12). Every list states its tenant and pages
-- by keyset on one of the tenant's indexes: (user_id, id) — the unique keys every tenant
-- table has — or, for one customer's rows, (user_id, customer_id, id). These replace the
-- (user_id, customer_id) indexes, which could find a customer's rows but not in id order,
-- so a page of them was read whole and sorted. They still serve the foreign keys.
CREATE INDEX tickets_customer_id_idx ON tickets (user_id, customer_id, id);
DROP INDEX tickets_customer_idx;
CREATE INDEX invoices_customer_id_idx ON invoices (user_id, customer_id, id);
DROP INDEX invoices_customer_idx;
CREATE INDEX scheduled_messages_customer_id_idx ON scheduled_messages (user_id, customer_id, id);
DROP INDEX scheduled_messages_customer_idx;
