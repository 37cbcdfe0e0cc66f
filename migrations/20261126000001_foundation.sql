-- Foundation: extensions, roles, shared functions.
--
-- Roles (cluster-wide, created idempotently because several databases may share a cluster):
--   fieldwork_app     every tenant request and tenant job runs as this role (SET ROLE on each
--                     pooled connection). Not the owner of anything, no BYPASSRLS: row-level
--                     security always applies, even when DATABASE_URL is a superuser.
--   fieldwork_auth    owns the SECURITY DEFINER functions that look up a user by email or a
--                     session by token hash before any tenant context exists. Nothing else.
--   fieldwork_system  the narrow cross-tenant path for system work (queue bookkeeping, cron
--                     scans, pruning). Gets explicit policies on the few tables it touches.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['fieldwork_app', 'fieldwork_auth', 'fieldwork_system'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- Another database in this cluster (or a concurrent migration) created it first.
            NULL;
        END;
        -- The migrating user must be able to SET ROLE to it (a superuser always can).
        BEGIN
            EXECUTE format('GRANT %I TO CURRENT_USER', r);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO fieldwork_app, fieldwork_auth, fieldwork_system;
-- readyz compares the applied migrations with the ones the binary embeds.
GRANT SELECT ON _sqlx_migrations TO fieldwork_app, fieldwork_system;

-- The tenant of the current transaction, or NULL outside any tenant context. The setting is
-- transaction-local (set_config(..., true)); after such a transaction ends Postgres leaves it
-- as '' on the session, hence NULLIF.
CREATE FUNCTION app_current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.current_user_id', true), '')::uuid $$;

-- Time-ordered UUID (version 7) for rows created from SQL; the application generates its own.
CREATE FUNCTION uuid_generate_v7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    AS $$
    SELECT encode(
        set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
            PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
            FROM 1 FOR 6), 52, 1), 53, 1),
        'hex')::uuid
    $$;

CREATE FUNCTION update_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END
$$;
