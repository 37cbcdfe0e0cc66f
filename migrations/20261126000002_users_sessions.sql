-- Users (one per business) and their login sessions.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    email         text NOT NULL,
    password_hash text NOT NULL,
    business_name text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- A session token is 256 random bits; only its SHA-256 is stored.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CONSTRAINT sessions_user_id_id_key UNIQUE (user_id, id)
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;

-- A tenant sees and changes only itself. Registration inserts under the new user's own id.
CREATE POLICY users_tenant ON users TO fieldwork_app
    USING (id = app_current_user_id())
    WITH CHECK (id = app_current_user_id());
CREATE POLICY sessions_tenant ON sessions TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT, UPDATE ON users TO fieldwork_app;
GRANT SELECT, INSERT, DELETE ON sessions TO fieldwork_app;

-- Before a tenant is known: the two lookups login and authentication need, and nothing more.
CREATE POLICY users_auth_lookup ON users FOR SELECT TO fieldwork_auth USING (true);
CREATE POLICY sessions_auth_lookup ON sessions FOR SELECT TO fieldwork_auth USING (true);
GRANT SELECT (id, email, password_hash) ON users TO fieldwork_auth;
GRANT SELECT (user_id, token_hash, expires_at) ON sessions TO fieldwork_auth;

CREATE FUNCTION auth_user_credentials(p_email text)
    RETURNS TABLE (user_id uuid, password_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$ SELECT u.id, u.password_hash FROM users u WHERE lower(u.email) = lower(p_email) $$;

CREATE FUNCTION auth_session_user(p_token_hash bytea)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$ SELECT s.user_id FROM sessions s WHERE s.token_hash = p_token_hash AND s.expires_at > now() $$;

ALTER FUNCTION auth_user_credentials(text) OWNER TO fieldwork_auth;
ALTER FUNCTION auth_session_user(bytea) OWNER TO fieldwork_auth;
REVOKE ALL ON FUNCTION auth_user_credentials(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_session_user(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_credentials(text) TO fieldwork_app;
GRANT EXECUTE ON FUNCTION auth_session_user(bytea) TO fieldwork_app;
