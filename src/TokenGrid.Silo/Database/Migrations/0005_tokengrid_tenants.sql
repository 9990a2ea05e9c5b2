-- Tenant state beside its ledger (PostgresTenantStore). Documented in docs/ledger.md.
--
-- A tenant grain saves its state and the ledger lines and job ids its changes added in one statement, so a ledger
-- line exists exactly when the budget move it records is saved. Before this migration the state lived in Orleans'
-- grain state table and the lines followed it through an outbox.

-- One row per tenant: the state (Orleans' serializer, version tolerant) except its open reservations, which are rows
-- of tokengrid_open_reservations, and, for operators, the figures a query most often wants. version is the save's
-- ETag: a save names the version it read and succeeds only if the row is still at it. last_sequence is the sequence
-- of the tenant's newest ledger line.
CREATE TABLE tokengrid_tenants (
    tenant_id     text PRIMARY KEY,
    version       bigint NOT NULL CHECK (version > 0),
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
    charged       bigint NOT NULL,
    reserved      bigint NOT NULL CHECK (reserved >= 0),
    snapshot      bytea NOT NULL,
    saved_at      timestamptz NOT NULL DEFAULT now()
);

-- The jobs each tenant has admitted and not settled yet, with the tokens they hold: inserted with the reserve line,
-- deleted with the charge line, in the same statement. A save writes only the reservations that changed, so its size
-- does not grow with the number of jobs a tenant runs at once.
CREATE TABLE tokengrid_open_reservations (
    tenant_id     text NOT NULL,
    job_id        text NOT NULL,
    model         text NOT NULL,
    tokens        bigint NOT NULL CHECK (tokens >= 0),
    prompt_tokens integer NOT NULL CHECK (prompt_tokens >= 0),
    admitted_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, job_id)
);

-- One job id reserves once, ever: the ledger cannot hold two reservations for a job.
CREATE UNIQUE INDEX tokengrid_ledger_one_reserve_per_job ON tokengrid_ledger (tenant_id, job_id) WHERE kind = 'reserve';
