-- Tenant state beside its ledger (PostgresTenantStore). Documented in docs/ledger.md.
--
-- A tenant grain saves its state and the ledger lines and job ids its changes added in one statement, so a ledger
-- line exists exactly when the budget move it records is saved. Before this migration the state lived in Orleans'
-- grain state table and the lines followed it through an outbox.

-- One row per tenant: the whole state (Orleans' serializer, version tolerant) and, for operators, the figures a
-- query most often wants. version is the save's ETag: a save names the version it read and succeeds only if the row
-- is still at it. last_sequence is the sequence of the tenant's newest ledger line.
CREATE TABLE tokengrid_tenants (
    tenant_id     text PRIMARY KEY,
    version       bigint NOT NULL CHECK (version > 0),
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
    charged       bigint NOT NULL,
    reserved      bigint NOT NULL CHECK (reserved >= 0),
    snapshot      bytea NOT NULL,
    saved_at      timestamptz NOT NULL DEFAULT now()
);

-- One job id reserves once, ever: the ledger cannot hold two reservations for a job.
CREATE UNIQUE INDEX tokengrid_ledger_one_reserve_per_job ON tokengrid_ledger (tenant_id, job_id) WHERE kind = 'reserve';
