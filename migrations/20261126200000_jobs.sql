-- The job queue: one table of jobs with explicit states, the cron tick ledger, and the
-- wake-up trigger. docs/ARCHITECTURE.md ("Job engine") describes the life of a job.
--
--   scheduled ─(due)─▶ available ─(claim)─▶ running ─▶ completed
--       ▲                  ▲                  │  ├──▶ retryable ─(due)─▶ available
--       └──── snooze ──────┼──────────────────┘  ├──▶ discarded (max attempts, bad payload)
--                          └── released on shutdown / lease rescue   └──▶ cancelled

CREATE TYPE job_state AS ENUM (
    'scheduled', 'available', 'running', 'retryable', 'completed', 'cancelled', 'discarded'
);

CREATE TABLE jobs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state               job_state NOT NULL DEFAULT 'available',
    queue               text NOT NULL DEFAULT 'default',
    kind                text NOT NULL,
    args                jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The tenant the job runs for, taken from the enqueuing transaction's RLS context
    -- (never from args). NULL: a system job, run on the system path.
    user_id             uuid DEFAULT app_current_user_id() REFERENCES users (id) ON DELETE CASCADE,
    -- 0 runs first.
    priority            smallint NOT NULL DEFAULT 1,
    -- Incremented by every claim; the (id, attempt, attempted_by) triple fences every ack.
    attempt             integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 25,
    scheduled_at        timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    attempted_at        timestamptz,
    -- The worker process (unique per process start) that holds the lease.
    attempted_by        text,
    lease_expires_at    timestamptz,
    finalized_at        timestamptz,
    cancel_requested_at timestamptz,
    unique_key          text,
    -- [{"attempt": n, "at": timestamp, "error": "...", "kind": "error|panic|lease_expired|..."}]
    errors              jsonb NOT NULL DEFAULT '[]'::jsonb,
    CONSTRAINT jobs_queue_name CHECK (queue ~ '^[a-z0-9_.-]{1,64}$'),
    CONSTRAINT jobs_kind_name CHECK (length(kind) BETWEEN 1 AND 128),
    CONSTRAINT jobs_priority_range CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT jobs_attempts CHECK (max_attempts > 0 AND attempt >= 0),
    CONSTRAINT jobs_finalized CHECK (
        (state IN ('completed', 'cancelled', 'discarded')) = (finalized_at IS NOT NULL)),
    CONSTRAINT jobs_errors_array CHECK (jsonb_typeof(errors) = 'array')
);

-- Claim: the next available jobs of a queue by priority, then time (FOR UPDATE SKIP LOCKED).
-- Only available rows are in it, so it stays small however many jobs wait for a later time.
CREATE INDEX jobs_fetch_idx ON jobs (queue, priority, scheduled_at, id) WHERE state = 'available';
-- Promotion of due scheduled/retryable jobs, and "when is the next one due".
CREATE INDEX jobs_scheduled_idx ON jobs (scheduled_at) WHERE state IN ('scheduled', 'retryable');
-- Rescue of expired leases and "what does worker X hold". The lease column itself is not
-- indexed, so a heartbeat that only moves the lease can be a HOT update.
CREATE INDEX jobs_running_idx ON jobs (attempted_by) WHERE state = 'running';
-- Pruning of finalized jobs by age.
CREATE INDEX jobs_finalized_idx ON jobs (finalized_at) WHERE state IN ('completed', 'cancelled', 'discarded');
-- Dedupe: at most one not-yet-finalized job per (tenant, key); system jobs share the NULL
-- tenant. Inserts use ON CONFLICT DO NOTHING on it, so concurrent inserts are safe.
CREATE UNIQUE INDEX jobs_unique_key_idx ON jobs (user_id, unique_key) NULLS NOT DISTINCT
    WHERE unique_key IS NOT NULL AND state IN ('scheduled', 'available', 'running', 'retryable');

-- A queue table churns: every job is inserted, updated two or three times and deleted within
-- a day. Vacuum it early and without throttling so dead index entries (which every claim
-- must step over) do not pile up; analyze often so the planner keeps using the partial indexes.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

-- Wake-ups: one notification per statement and queue (payload = queue name) when available
-- jobs are inserted, and ':scheduled' when jobs for later are, so schedulers recompute their
-- next due time. Delivered at commit: a job is announced only once it exists.
CREATE FUNCTION jobs_notify_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('fieldwork_jobs', s.payload)
       FROM (SELECT DISTINCT CASE WHEN state = 'available' THEN queue ELSE ':scheduled' END AS payload
               FROM new_jobs) s;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_insert();

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;

-- Tenants enqueue for themselves only, see only their own jobs, and may change only the
-- columns that completing a job inside its handler's transaction or cancelling it touches.
CREATE POLICY jobs_tenant_select ON jobs FOR SELECT TO fieldwork_app
    USING (user_id = app_current_user_id());
CREATE POLICY jobs_tenant_insert ON jobs FOR INSERT TO fieldwork_app
    WITH CHECK (user_id = app_current_user_id());
CREATE POLICY jobs_tenant_update ON jobs FOR UPDATE TO fieldwork_app
    USING (user_id = app_current_user_id())
    WITH CHECK (user_id = app_current_user_id());
GRANT SELECT, INSERT ON jobs TO fieldwork_app;
GRANT UPDATE (state, finalized_at, cancel_requested_at) ON jobs TO fieldwork_app;

-- The system path (claim, ack, heartbeat, rescue, prune, cron) sees every job: these queue
-- tables are the only tenant-spanning tables it is granted.
CREATE POLICY jobs_system ON jobs TO fieldwork_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO fieldwork_system;
GRANT USAGE ON SEQUENCE jobs_id_seq TO fieldwork_app, fieldwork_system;

-- Cron: the last tick each schedule fired for. A worker fires a tick only if it moves
-- last_tick forward, in the transaction that enqueues the tick's job, so a tick fires once
-- across the whole fleet however many workers reach it.
CREATE TABLE job_cron (
    name       text PRIMARY KEY,
    last_tick  timestamptz NOT NULL,
    fired_by   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON job_cron TO fieldwork_system;
