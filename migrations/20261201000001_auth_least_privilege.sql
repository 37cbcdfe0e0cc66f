-- Least privilege for accounts and sessions (docs/SECURITY.md).
--
-- fieldwork_app (every request, through the runtime login) no longer reads password hashes or
-- sessions at all, not even its own tenant's: what login, authentication, logout and pruning
-- need goes through SECURITY DEFINER functions owned by fieldwork_auth, a role no login may
-- become. Each function does one narrow thing and is executable only by the role that needs it.
--
-- Runs as a non-superuser owner with CREATEROLE that owns the database: giving a function to
-- fieldwork_auth (ALTER FUNCTION ... OWNER TO) needs membership in it (migration 000001 grants
-- that) and CREATE on the schema for the new owner, granted here only for the moment it is used.

-- Tenants read their own account, but never its password hash.
REVOKE SELECT ON users FROM fieldwork_app;
GRANT SELECT (id, email, business_name, created_at, updated_at) ON users TO fieldwork_app;

-- Sessions are written by login (INSERT only, in the new session's tenant transaction) and
-- otherwise reached only through the functions below.
REVOKE SELECT, DELETE ON sessions FROM fieldwork_app;

-- Logout and pruning delete through fieldwork_auth (pruning picks rows by id).
CREATE POLICY sessions_auth_delete ON sessions FOR DELETE TO fieldwork_auth USING (true);
GRANT DELETE ON sessions TO fieldwork_auth;
GRANT SELECT (id) ON sessions TO fieldwork_auth;

-- Login: the account of exactly this email. The caller normalises the email (trimmed, ASCII
-- only, ASCII lower case: core::fields::normalize_email, the one definition) and this compares
-- it as is. Stored emails are normalised the same way, so lower() here is ASCII-only in effect;
-- lower() of the input would map e.g. 'İ' to 'i' and let a different string reach an account.
DROP FUNCTION auth_user_credentials(text);
CREATE FUNCTION auth_login_credentials(p_email text)
    RETURNS TABLE (user_id uuid, password_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$ SELECT u.id, u.password_hash FROM users u WHERE lower(u.email) = p_email $$;

-- Logout: ends one session of the current tenant (and sweeps its expired ones).
CREATE FUNCTION auth_end_session(p_token_hash bytea)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    WITH gone AS (
        DELETE FROM sessions s
         WHERE s.user_id = app_current_user_id()
           AND (s.token_hash = p_token_hash OR s.expires_at <= now())
        RETURNING 1
    )
    SELECT count(*) FROM gone
    $$;

-- Pruning (a system cron job): deletes up to p_limit expired sessions of any tenant.
CREATE FUNCTION auth_prune_expired_sessions(p_limit integer)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    WITH gone AS (
        DELETE FROM sessions s
         WHERE s.id = ANY(ARRAY(SELECT id FROM sessions
                                 WHERE expires_at <= now()
                                 ORDER BY expires_at
                                 LIMIT greatest(p_limit, 0)))
        RETURNING 1
    )
    SELECT count(*) FROM gone
    $$;

GRANT CREATE ON SCHEMA public TO fieldwork_auth;
ALTER FUNCTION auth_login_credentials(text) OWNER TO fieldwork_auth;
ALTER FUNCTION auth_end_session(bytea) OWNER TO fieldwork_auth;
ALTER FUNCTION auth_prune_expired_sessions(integer) OWNER TO fieldwork_auth;
REVOKE CREATE ON SCHEMA public FROM fieldwork_auth;

REVOKE ALL ON FUNCTION auth_login_credentials(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_end_session(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_prune_expired_sessions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_credentials(text) TO fieldwork_app;
GRANT EXECUTE ON FUNCTION auth_end_session(bytea) TO fieldwork_app;
GRANT EXECUTE ON FUNCTION auth_prune_expired_sessions(integer) TO fieldwork_system;
