-- TokenGrid's token ledger and job index (PostgresLedgerStore, PostgresJobIndex). Documented in docs/ledger.md.

-- Every move of a tenant's tokens, append-only. A tenant grain numbers its lines 1, 2, 3, ... and saves them with its
-- state before handing them over, possibly more than once: (tenant_id, sequence) is the key, and a line already
-- stored is skipped. After every line: balance_after = quota - charged_after - reserved_after.
CREATE TABLE tokengrid_ledger (
    tenant_id      text NOT NULL,
    sequence       bigint NOT NULL CHECK (sequence > 0),
    at             timestamptz NOT NULL,
    job_id         text NOT NULL,
    model          text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('reserve', 'charge', 'refund', 'period_reset')),
    tokens         bigint NOT NULL CHECK (tokens >= 0),
    quota          bigint NOT NULL,
    charged_after  bigint NOT NULL,
    reserved_after bigint NOT NULL,
    balance_after  bigint NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sequence),
    CHECK (balance_after = quota - charged_after - reserved_after)
);

CREATE INDEX tokengrid_ledger_by_job ON tokengrid_ledger (tenant_id, job_id);
CREATE INDEX tokengrid_ledger_by_time ON tokengrid_ledger (at);

-- Lines are never changed or removed.
CREATE FUNCTION tokengrid_ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'tokengrid_ledger is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER tokengrid_ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_ledger
    FOR EACH ROW EXECUTE FUNCTION tokengrid_ledger_is_append_only();
CREATE TRIGGER tokengrid_ledger_no_truncate BEFORE TRUNCATE ON tokengrid_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_ledger_is_append_only();

-- Every job id a tenant submitted, in the order they were added (position), for the newest-first jobs listing.
CREATE TABLE tokengrid_tenant_jobs (
    tenant_id text NOT NULL,
    job_id    text NOT NULL,
    position  bigint GENERATED ALWAYS AS IDENTITY,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id)
);

CREATE INDEX tokengrid_tenant_jobs_newest ON tokengrid_tenant_jobs (tenant_id, position DESC);

-- Usage per tenant, model and UTC day, from the ledger: requests admitted, tokens reserved, charged and refunded.
-- Every figure is a bigint.
CREATE VIEW tokengrid_usage_daily AS
SELECT tenant_id,
       model,
       (at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE kind = 'reserve') AS requests,
       coalesce(sum(tokens) FILTER (WHERE kind = 'reserve'), 0)::bigint AS reserved_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_tokens
FROM tokengrid_ledger
WHERE kind <> 'period_reset'
GROUP BY tenant_id, model, (at AT TIME ZONE 'UTC')::date;

-- The same per tenant and day, all models together (billing).
CREATE VIEW tokengrid_usage_daily_by_tenant AS
SELECT tenant_id, day, sum(requests)::bigint AS requests, sum(reserved_tokens)::bigint AS reserved_tokens,
       sum(charged_tokens)::bigint AS charged_tokens, sum(refunded_tokens)::bigint AS refunded_tokens
FROM tokengrid_usage_daily
GROUP BY tenant_id, day;

-- The same per model and day, all tenants together (capacity).
CREATE VIEW tokengrid_usage_daily_by_model AS
SELECT model, day, count(DISTINCT tenant_id) AS tenants, sum(requests)::bigint AS requests,
       sum(reserved_tokens)::bigint AS reserved_tokens, sum(charged_tokens)::bigint AS charged_tokens,
       sum(refunded_tokens)::bigint AS refunded_tokens
FROM tokengrid_usage_daily
GROUP BY model, day;

-- One row per job: what was reserved, charged and refunded, and whether it is settled (charge + refund = reserve).
CREATE VIEW tokengrid_job_settlements AS
SELECT tenant_id,
       job_id,
       min(model) AS model,
       min(at) FILTER (WHERE kind = 'reserve') AS admitted_at,
       max(at) FILTER (WHERE kind IN ('charge', 'refund')) AS settled_at,
       coalesce(sum(tokens) FILTER (WHERE kind = 'reserve'), 0)::bigint AS reserved_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_tokens,
       count(*) FILTER (WHERE kind = 'charge') > 0 AS settled
FROM tokengrid_ledger
WHERE kind <> 'period_reset'
GROUP BY tenant_id, job_id;
