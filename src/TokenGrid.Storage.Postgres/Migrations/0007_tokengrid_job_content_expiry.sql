-- Retention of job content (PostgresJobContentExpiryStore; silo-config/README.md, Retention).
--
-- One row per finished job whose content (prompt, output, token ids, log probabilities) is still in its grain state
-- row (orleans_grain_state), with when it expires. The retention sweep claims due rows in small batches (a claim is a
-- short UPDATE ... FOR UPDATE SKIP LOCKED, so silos sweeping at once take different rows and nobody waits), rewrites each
-- job's state without its content, then deletes the batch's rows. claimed_until keeps other silos off a claimed row;
-- a row whose sweeper died is claimed again after it passes. The ledger is not involved.
CREATE TABLE tokengrid_job_content_expiry (
    job_id        text PRIMARY KEY,
    tenant_id     text NOT NULL,
    finished_at   timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    claimed_until timestamptz
);

-- The sweep's claim reads due rows in expiry order; the oldest-content gauge reads the earliest end.
CREATE INDEX tokengrid_job_content_expiry_due ON tokengrid_job_content_expiry (expires_at);
CREATE INDEX tokengrid_job_content_expiry_finished ON tokengrid_job_content_expiry (finished_at);
