-- Statements, usage in money and the oversight views, all over tokengrid_charges (migration 0009). Documented in
-- docs/billing.md ("Statements", "SQL views", "Usage in money").
--
-- Every amount is integer micros (1 unit of the currency = 1,000,000), rounded once on its charge row; these views only
-- add rows up, so they agree with the ledger to the micro. Periods are calendar months in UTC, written 'YYYY-MM'; days
-- are UTC dates.

-- A statement's lines: per tenant and period, one row per model, direction, creation region (the region label of the
-- node that created the tokens; NULL when it has none), currency and unit price (per million tokens, list). A price
-- change within a month gives two rows. list_micros = discount_micros + subsidy_micros + amount_due_micros.
CREATE VIEW tokengrid_statement_lines AS
SELECT tenant_id,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
       model,
       direction,
       region,
       currency,
       unit_price_micros,
       sum(tokens)::bigint AS tokens,
       sum(list_micros)::bigint AS list_micros,
       sum(discount_micros)::bigint AS discount_micros,
       sum(subsidy_micros)::bigint AS subsidy_micros,
       sum(tenant_micros)::bigint AS amount_due_micros
FROM tokengrid_charges
GROUP BY tenant_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM'), model, direction, region, currency, unit_price_micros;

-- A statement's totals: per tenant, period and currency.
CREATE VIEW tokengrid_statement_totals AS
SELECT tenant_id, period, currency,
       sum(tokens)::bigint AS tokens,
       sum(list_micros)::bigint AS list_micros,
       sum(discount_micros)::bigint AS discount_micros,
       sum(subsidy_micros)::bigint AS subsidy_micros,
       sum(amount_due_micros)::bigint AS amount_due_micros
FROM tokengrid_statement_lines
GROUP BY tenant_id, period, currency;

-- Closed periods: a period is closed once, after its month ended (POST /admin/periods/{period}/close), with the number
-- of statements stored for it.
CREATE TABLE tokengrid_periods (
    period     text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    closed_at  timestamptz NOT NULL,
    statements integer NOT NULL CHECK (statements >= 0)
);

-- The statements of closed periods, as tokengrid_statement_lines showed them when the period was closed: one row per
-- line, written in the same statement as the period's row. Never changed afterwards, whatever charges come later.
CREATE TABLE tokengrid_statements (
    tenant_id         text NOT NULL,
    period            text NOT NULL REFERENCES tokengrid_periods (period),
    model             text NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('prompt', 'completion')),
    region            text,
    currency          char(3) NOT NULL,
    unit_price_micros bigint NOT NULL,
    tokens            bigint NOT NULL,
    list_micros       bigint NOT NULL,
    discount_micros   bigint NOT NULL,
    subsidy_micros    bigint NOT NULL,
    amount_due_micros bigint NOT NULL,
    CHECK (list_micros = discount_micros + subsidy_micros + amount_due_micros)
);

CREATE INDEX tokengrid_statements_by_tenant ON tokengrid_statements (tenant_id, period);

CREATE FUNCTION tokengrid_statements_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION '% is append-only: a closed statement never changes (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER tokengrid_periods_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_periods
    FOR EACH ROW EXECUTE FUNCTION tokengrid_statements_are_immutable();
CREATE TRIGGER tokengrid_periods_no_truncate BEFORE TRUNCATE ON tokengrid_periods
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_statements_are_immutable();
CREATE TRIGGER tokengrid_statements_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_statements
    FOR EACH ROW EXECUTE FUNCTION tokengrid_statements_are_immutable();
CREATE TRIGGER tokengrid_statements_no_truncate BEFORE TRUNCATE ON tokengrid_statements
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_statements_are_immutable();

-- Usage in money: a tenant's charged tokens per model, UTC day and currency, with their money. Charges of unpriced jobs
-- count their tokens with a NULL currency and no money.
CREATE VIEW tokengrid_usage_money_daily AS
SELECT l.tenant_id,
       l.model,
       (l.at AT TIME ZONE 'UTC')::date AS day,
       c.currency,
       sum(l.prompt_tokens)::bigint AS prompt_tokens,
       sum(l.completion_tokens)::bigint AS completion_tokens,
       coalesce(sum(c.list_micros), 0)::bigint AS list_micros,
       coalesce(sum(c.discount_micros), 0)::bigint AS discount_micros,
       coalesce(sum(c.subsidy_micros), 0)::bigint AS subsidy_micros,
       coalesce(sum(c.tenant_micros), 0)::bigint AS amount_due_micros
FROM tokengrid_ledger AS l
CROSS JOIN LATERAL (
    SELECT min(currency) AS currency, sum(list_micros) AS list_micros, sum(discount_micros) AS discount_micros,
           sum(subsidy_micros) AS subsidy_micros, sum(tenant_micros) AS tenant_micros
    FROM tokengrid_charges
    WHERE tenant_id = l.tenant_id AND sequence = l.sequence) AS c
WHERE l.kind = 'charge'
GROUP BY l.tenant_id, l.model, (l.at AT TIME ZONE 'UTC')::date, c.currency;

-- Oversight: how much inference each region consumes from each region's compute. Per UTC day, demand region (the
-- tenant's home region), creation region (the creating node's region label), model and currency: tokens per
-- direction, the tenants, and the money (list, the programs' subsidy, the tenants' share; list - discount = subsidy +
-- tenant). NULL regions are unlabelled.
CREATE VIEW tokengrid_flows_daily AS
SELECT (at AT TIME ZONE 'UTC')::date AS day,
       home_region AS demand_region,
       region AS creation_region,
       model,
       currency,
       count(DISTINCT tenant_id) AS tenants,
       coalesce(sum(tokens) FILTER (WHERE direction = 'prompt'), 0)::bigint AS prompt_tokens,
       coalesce(sum(tokens) FILTER (WHERE direction = 'completion'), 0)::bigint AS completion_tokens,
       sum(list_micros)::bigint AS list_micros,
       sum(discount_micros)::bigint AS discount_micros,
       sum(subsidy_micros)::bigint AS subsidy_micros,
       sum(tenant_micros)::bigint AS tenant_micros
FROM tokengrid_charges
GROUP BY (at AT TIME ZONE 'UTC')::date, home_region, region, model, currency;

-- Oversight: what each subsidy program paid per UTC day and currency, and for how many tenants.
CREATE VIEW tokengrid_program_spend_daily AS
SELECT program_id,
       (at AT TIME ZONE 'UTC')::date AS day,
       currency,
       count(DISTINCT tenant_id) AS tenants,
       sum(tokens)::bigint AS tokens,
       sum(subsidy_micros)::bigint AS subsidy_micros
FROM tokengrid_charges
WHERE program_id IS NOT NULL
GROUP BY program_id, (at AT TIME ZONE 'UTC')::date, currency;
