//! The two logins: migrations run as the schema owner (`MIGRATE_DATABASE_URL`), which also
//! makes the runtime login (`DATABASE_URL`) a member of `fieldwork_app` and `fieldwork_system`;
//! at start-up the binaries check that the runtime login holds no more than that.

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use super::{MIGRATOR, connect_options};
use crate::error::{Error, Result};

/// The roles the runtime login must be able to `SET LOCAL ROLE` to: these and nothing else.
pub const RUNTIME_ROLES: [&str; 2] = ["fieldwork_app", "fieldwork_system"];

/// Applies pending migrations as the user `url` names: the owner of the schema (a superuser
/// works, but a non-superuser owner with CREATEROLE that owns the database is enough:
/// docs/SECURITY.md). Idempotent; concurrent callers serialise on an advisory lock.
pub async fn migrate(url: &str) -> Result<()> {
    let options =
        connect_options(url, "MIGRATE_DATABASE_URL")?.application_name("fieldwork-migrate");
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATE_LOCK)
        .execute(&mut conn)
        .await?;
    let result = migrate_locked(&mut conn).await;
    // Closing the connection releases the lock in any case.
    conn.close().await.ok();
    result
}

/// Serialises `migrate` callers across processes (sqlx's own lock covers only its run).
const MIGRATE_LOCK: i64 = 0x6669_656c_6477_6b01;

/// The migration that gives the auth functions to `fieldwork_auth`.
const AUTH_FUNCTIONS_MIGRATION: i64 = 20261126000002;

/// What migration 20261126000002 needs before it runs as a non-superuser: PostgreSQL lets a
/// non-superuser give a function to another role (`ALTER FUNCTION ... OWNER TO`) only if that
/// role may create in the function's schema. The roles are created as migration 000001 does.
const BOOTSTRAP_SQL: &str = "
    DO $$
    DECLARE
        r text;
    BEGIN
        FOREACH r IN ARRAY ARRAY['fieldwork_app', 'fieldwork_auth', 'fieldwork_system'] LOOP
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END LOOP;
    END
    $$;
    GRANT CREATE ON SCHEMA public TO fieldwork_auth;";

async fn migrate_locked(conn: &mut PgConnection) -> Result<()> {
    let has_ledger: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    let applied = has_ledger
        && sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = $1)",
        )
        .bind(AUTH_FUNCTIONS_MIGRATION)
        .fetch_one(&mut *conn)
        .await?;
    if !applied {
        sqlx::raw_sql(BOOTSTRAP_SQL).execute(&mut *conn).await?;
    }
    let result = MIGRATOR
        .run(&mut *conn)
        .await
        .map_err(|e| Error::Internal(format!("migration failed: {e}")));
    if !applied {
        // Only for the moment migration 000002 needed it.
        sqlx::raw_sql("REVOKE CREATE ON SCHEMA public FROM fieldwork_auth")
            .execute(&mut *conn)
            .await?;
    }
    result
}

/// Makes the user of `runtime_url` a member of [`RUNTIME_ROLES`] (as the migrating user of
/// `migrate_url`, which created those roles), unless it already is one or both URLs name the
/// same user. Idempotent. Fails when the runtime login does not exist.
pub async fn grant_runtime_login(migrate_url: &str, runtime_url: &str) -> Result<()> {
    let runtime = connect_options(runtime_url, "DATABASE_URL")?;
    let runtime_user = runtime.get_username().to_owned();
    let options =
        connect_options(migrate_url, "MIGRATE_DATABASE_URL")?.application_name("fieldwork-migrate");
    let mut owner = PgConnection::connect_with(&options).await?;
    let result = grant_on(&mut owner, &runtime_user).await;
    owner.close().await.ok();
    result
}

async fn grant_on(owner: &mut PgConnection, runtime_user: &str) -> Result<()> {
    let (me, exists): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
    )
    .bind(runtime_user)
    .fetch_one(&mut *owner)
    .await?;
    if me == runtime_user {
        return Ok(());
    }
    if !exists {
        return Err(Error::Internal(format!(
            "the runtime login {runtime_user:?} of DATABASE_URL does not exist: create it \
             (CREATE ROLE ... LOGIN NOINHERIT, see docs/SECURITY.md) and migrate again"
        )));
    }
    for role in RUNTIME_ROLES {
        let grant: Option<String> = sqlx::query_scalar(
            "SELECT format('GRANT %I TO %I', $1::text, $2::text)
              WHERE NOT pg_has_role($2::text, $1::text, 'MEMBER')",
        )
        .bind(role)
        .bind(runtime_user)
        .fetch_optional(&mut *owner)
        .await?;
        let Some(grant) = grant else { continue };
        if let Err(e) = sqlx::raw_sql(AssertSqlSafe(grant))
            .execute(&mut *owner)
            .await
        {
            // A concurrent `migrate` (another database of this cluster) may have granted it
            // in the meantime: only a membership that is still missing is an error.
            let member: bool =
                sqlx::query_scalar("SELECT pg_has_role($2::text, $1::text, 'MEMBER')")
                    .bind(role)
                    .bind(runtime_user)
                    .fetch_one(&mut *owner)
                    .await?;
            if !member {
                return Err(Error::Internal(format!(
                    "cannot make {runtime_user:?} a member of {role}: {e} (the migrating login \
                     needs CREATEROLE, or ADMIN OPTION on {role}; docs/SECURITY.md)"
                )));
            }
            continue;
        }
        tracing::info!(
            login = runtime_user,
            role,
            "granted role to the runtime login"
        );
    }
    Ok(())
}

/// What is wrong with the runtime login from a least-privilege point of view: each entry is
/// one sentence for the operator (empty when it is exactly what docs/SECURITY.md asks for).
/// Reads only the catalogs (in a `fieldwork_app` transaction: a parameterised statement
/// outside a transaction would break behind PgBouncer without prepared-statement support).
pub async fn runtime_login_warnings(pool: &PgPool) -> Result<Vec<String>> {
    let mut tx = super::begin_anonymous(pool).await?;
    let (login, superuser, bypassrls, inherit, extra_roles, owned): (
        String,
        bool,
        bool,
        bool,
        Vec<String>,
        i64,
    ) = sqlx::query_as(
        "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolinherit,
                array(SELECT g.rolname::text FROM pg_auth_members m
                        JOIN pg_roles g ON g.oid = m.roleid
                       WHERE m.member = r.oid AND g.rolname <> ALL($1::text[])
                       ORDER BY 1),
                (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relowner = r.oid AND n.nspname = 'public')
           FROM pg_roles r WHERE r.rolname = session_user",
    )
    .bind(&RUNTIME_ROLES[..])
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut warnings = Vec::new();
    if superuser {
        warnings.push(format!(
            "DATABASE_URL logs in as {login:?}, a superuser: row-level security then rests on \
             SET LOCAL ROLE alone; use a NOSUPERUSER NOINHERIT runtime login"
        ));
    } else if bypassrls {
        warnings.push(format!(
            "DATABASE_URL logs in as {login:?}, which has BYPASSRLS"
        ));
    }
    if inherit && !superuser {
        warnings.push(format!(
            "DATABASE_URL logs in as {login:?}, which is INHERIT: it holds fieldwork_app's and \
             fieldwork_system's rights even outside a transaction's SET LOCAL ROLE; make it \
             NOINHERIT (ALTER ROLE ... NOINHERIT)"
        ));
    }
    if !extra_roles.is_empty() {
        warnings.push(format!(
            "DATABASE_URL logs in as {login:?}, a member of {extra_roles:?} beyond fieldwork_app \
             and fieldwork_system (fieldwork_auth can read password hashes)"
        ));
    }
    if owned > 0 {
        warnings.push(format!(
            "DATABASE_URL logs in as {login:?}, which owns {owned} relations of the schema (it \
             can turn row-level security off): migrate with a separate owner login \
             (MIGRATE_DATABASE_URL)"
        ));
    }
    Ok(warnings)
}
