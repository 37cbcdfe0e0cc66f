-- Archiving a customer is not deleting it: an archived customer stays readable (archived_at is
-- set) and can be restored; no new work (tickets, invoices, messages) may be created for it.
-- A soft-deleted customer (deleted_at) is gone: 404 everywhere.

ALTER TABLE customers
    ADD COLUMN archived_at     timestamptz,
    ADD COLUMN archived_reason text;
