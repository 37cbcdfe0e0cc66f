-- Least privilege on the queue for fieldwork_app (docs/SECURITY.md).
--
-- A tenant enqueues jobs and may cancel them or complete the one its handler runs, nothing
-- more: it may insert a job only as new (available or scheduled, attempt 0, never claimed, no
-- errors), and change a job only along the transitions cancelling and completing-in-transaction
-- make. So no tenant code can forge a running job, revive a finished one or rewrite a job's
-- history; claim, acknowledgement, retries, rescue and pruning stay with fieldwork_system.

DROP POLICY jobs_tenant_insert ON jobs;
CREATE POLICY jobs_tenant_insert ON jobs FOR INSERT TO fieldwork_app
    WITH CHECK (
        user_id = app_current_user_id()
        AND state IN ('available', 'scheduled')
        AND attempt = 0
        AND attempted_at IS NULL AND attempted_by IS NULL AND lease_expires_at IS NULL
        AND finalized_at IS NULL AND cancel_requested_at IS NULL
        AND errors = '[]'::jsonb
    );

-- The transitions fieldwork_app may make (its column grants already limit it to state,
-- finalized_at and cancel_requested_at):
--   scheduled/available/retryable → cancelled            queue::cancel of a waiting job
--   running → running with cancel_requested_at set        queue::cancel of a running job
--   running → completed                                   JobTx::complete_and_commit
-- Anything else, in particular any change to a finalized job, is refused.
CREATE FUNCTION jobs_app_transition() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.state IN ('scheduled', 'available', 'retryable') AND NEW.state = 'cancelled'
       AND NEW.finalized_at IS NOT NULL AND NEW.cancel_requested_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'running' AND NEW.state = 'running'
       AND NEW.finalized_at IS NULL AND NEW.cancel_requested_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'running' AND NEW.state = 'completed' AND NEW.finalized_at IS NOT NULL
       AND NEW.cancel_requested_at IS NOT DISTINCT FROM OLD.cancel_requested_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'fieldwork_app may not change job % from % to %', OLD.id, OLD.state, NEW.state
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- WHEN keeps the worker's bulk acknowledgements (fieldwork_system) free of a function call
-- per row.
CREATE TRIGGER jobs_app_transition BEFORE UPDATE ON jobs
    FOR EACH ROW WHEN (current_user = 'fieldwork_app')
    EXECUTE FUNCTION jobs_app_transition();
