-- Queue controls and sampled queue statistics.
--
-- job_queues: one row per queue an operator has paused (or once paused). The claim statement
-- reads it by primary key: a paused queue is claimed from by no worker of the fleet. Queues
-- never paused have no row; resuming keeps the row with paused_at NULL.
--
-- job_stats: one row holding the latest sample of the queue gauges (jobs per queue and live
-- state, oldest available job, paused queues, jobs-table health). One worker of the fleet
-- refreshes it per sampling interval (whichever gets the row first once it is stale); every
-- worker's /metrics reads it by primary key, so a scrape never scans the jobs table.

CREATE TABLE job_queues (
    name       text PRIMARY KEY,
    paused_at  timestamptz,
    -- Who paused it: an operator's note (`fieldwork-worker jobs pause`, the jobs page).
    paused_by  text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_queues_name CHECK (name ~ '^[a-z0-9_.-]{1,64}$'),
    CONSTRAINT job_queues_paused_by CHECK (paused_by IS NULL OR length(paused_by) <= 200)
);
GRANT SELECT, INSERT, UPDATE ON job_queues TO fieldwork_system;

CREATE TABLE job_stats (
    -- Exactly one row.
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- NULL until the first sample.
    sampled_at timestamptz,
    sampled_by text,
    -- The sample: {"queues": [{"queue", "state", "jobs", "oldest_available_at"}...],
    --              "paused": ["queue", ...], "table": {"live_tuples", ...}}
    sample     jsonb NOT NULL DEFAULT '{}'::jsonb
);
INSERT INTO job_stats DEFAULT VALUES;
GRANT SELECT, UPDATE ON job_stats TO fieldwork_system;
