-- A priced charge line of the ledger is one row (tokengrid_charge_lines), its prompt and completion side by side,
-- instead of a row per direction: half the rows and index entries per priced job, which every priced settlement
-- wrote (docs/benchmarks.md, issue 17). Documented in docs/billing.md ("SQL views").
--
-- tokengrid_charges keeps its name and columns as a view: the rows written before this migration (the table, renamed
-- tokengrid_charges_by_direction, still append-only) and each new row's directions, one row each. Every view over it
-- and every query reads it as before. A direction's columns are all NULL or none: a charge without that direction.
ALTER TABLE tokengrid_charges RENAME TO tokengrid_charges_by_direction;

CREATE TABLE tokengrid_charge_lines (
    tenant_id              text NOT NULL,
    sequence               bigint NOT NULL,
    at                     timestamptz NOT NULL,
    job_id                 text NOT NULL,
    model                  text NOT NULL,
    currency               char(3) NOT NULL,
    price_version          integer NOT NULL CHECK (price_version > 0),
    program_id             text,
    node_id                text,
    silo                   text,
    region                 text,
    home_region            text,
    prompt_tokens            bigint CHECK (prompt_tokens >= 0),
    prompt_unit_price_micros bigint CHECK (prompt_unit_price_micros >= 0),
    prompt_list_micros       bigint CHECK (prompt_list_micros >= 0),
    prompt_discount_micros   bigint,
    prompt_subsidy_micros    bigint CHECK (prompt_subsidy_micros >= 0),
    prompt_tenant_micros     bigint CHECK (prompt_tenant_micros >= 0),
    completion_tokens            bigint CHECK (completion_tokens >= 0),
    completion_unit_price_micros bigint CHECK (completion_unit_price_micros >= 0),
    completion_list_micros       bigint CHECK (completion_list_micros >= 0),
    completion_discount_micros   bigint,
    completion_subsidy_micros    bigint CHECK (completion_subsidy_micros >= 0),
    completion_tenant_micros     bigint CHECK (completion_tenant_micros >= 0),
    PRIMARY KEY (tenant_id, sequence),
    CHECK ((prompt_unit_price_micros IS NULL) = (prompt_tokens IS NULL)
           AND (prompt_list_micros IS NULL) = (prompt_tokens IS NULL)
           AND (prompt_discount_micros IS NULL) = (prompt_tokens IS NULL)
           AND (prompt_subsidy_micros IS NULL) = (prompt_tokens IS NULL)
           AND (prompt_tenant_micros IS NULL) = (prompt_tokens IS NULL)),
    CHECK (prompt_list_micros = prompt_discount_micros + prompt_subsidy_micros + prompt_tenant_micros),
    CHECK ((completion_unit_price_micros IS NULL) = (completion_tokens IS NULL)
           AND (completion_list_micros IS NULL) = (completion_tokens IS NULL)
           AND (completion_discount_micros IS NULL) = (completion_tokens IS NULL)
           AND (completion_subsidy_micros IS NULL) = (completion_tokens IS NULL)
           AND (completion_tenant_micros IS NULL) = (completion_tokens IS NULL)),
    CHECK (completion_list_micros = completion_discount_micros + completion_subsidy_micros + completion_tenant_micros),
    CHECK (coalesce(prompt_subsidy_micros, 0) = 0 AND coalesce(completion_subsidy_micros, 0) = 0 OR program_id IS NOT NULL)
);

CREATE INDEX tokengrid_charge_lines_by_time ON tokengrid_charge_lines (tenant_id, at);
CREATE INDEX tokengrid_charge_lines_by_program ON tokengrid_charge_lines (program_id, at) WHERE program_id IS NOT NULL;

CREATE TRIGGER tokengrid_charge_lines_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_charge_lines
    FOR EACH ROW EXECUTE FUNCTION tokengrid_ledger_is_append_only();
CREATE TRIGGER tokengrid_charge_lines_no_truncate BEFORE TRUNCATE ON tokengrid_charge_lines
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_ledger_is_append_only();

-- One row per direction of a priced charge, as migration 0009's table had them.
CREATE VIEW tokengrid_charges AS
SELECT tenant_id, sequence, direction, at, job_id, model, tokens, currency, price_version, unit_price_micros,
       list_micros, discount_micros, subsidy_micros, tenant_micros, program_id, node_id, silo, region, home_region
FROM tokengrid_charges_by_direction
UNION ALL
SELECT c.tenant_id, c.sequence, d.direction, c.at, c.job_id, c.model, d.tokens, c.currency, c.price_version, d.unit_price_micros,
       d.list_micros, d.discount_micros, d.subsidy_micros, d.tenant_micros, c.program_id, c.node_id, c.silo, c.region, c.home_region
FROM tokengrid_charge_lines AS c
CROSS JOIN LATERAL (VALUES
    ('prompt'::text, c.prompt_tokens, c.prompt_unit_price_micros, c.prompt_list_micros, c.prompt_discount_micros,
     c.prompt_subsidy_micros, c.prompt_tenant_micros),
    ('completion'::text, c.completion_tokens, c.completion_unit_price_micros, c.completion_list_micros, c.completion_discount_micros,
     c.completion_subsidy_micros, c.completion_tenant_micros))
    AS d(direction, tokens, unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros)
WHERE d.tokens IS NOT NULL;

-- The views of migration 0011 read the table they were created over (now tokengrid_charges_by_direction); created
-- again, they read both.

-- A statement's lines, as migration 0011 defined them; the new rows are summed per tenant, period, model, region, currency
-- and unit prices before they are split into directions, so each row is read once rather than once per direction.
CREATE OR REPLACE VIEW tokengrid_statement_lines AS
SELECT tenant_id, period, model, direction, region, currency, unit_price_micros,
       sum(tokens)::bigint AS tokens,
       sum(list_micros)::bigint AS list_micros,
       sum(discount_micros)::bigint AS discount_micros,
       sum(subsidy_micros)::bigint AS subsidy_micros,
       sum(tenant_micros)::bigint AS amount_due_micros
FROM (
    SELECT tenant_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS period, model, direction, region, currency, unit_price_micros,
           tokens, list_micros, discount_micros, subsidy_micros, tenant_micros
    FROM tokengrid_charges_by_direction
    UNION ALL
    SELECT g.tenant_id, g.period, g.model, d.direction, g.region, g.currency, d.unit_price_micros, d.tokens, d.list_micros,
           d.discount_micros, d.subsidy_micros, d.tenant_micros
    FROM (
        SELECT tenant_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS period, model, region, currency,
               prompt_unit_price_micros, completion_unit_price_micros,
               sum(prompt_tokens) AS pt, sum(prompt_list_micros) AS pl, sum(prompt_discount_micros) AS pd,
               sum(prompt_subsidy_micros) AS ps, sum(prompt_tenant_micros) AS pte,
               sum(completion_tokens) AS ct, sum(completion_list_micros) AS cl, sum(completion_discount_micros) AS cd,
               sum(completion_subsidy_micros) AS cs, sum(completion_tenant_micros) AS cte
        FROM tokengrid_charge_lines
        GROUP BY tenant_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM'), model, region, currency,
                 prompt_unit_price_micros, completion_unit_price_micros) AS g
    CROSS JOIN LATERAL (VALUES
        ('prompt'::text, g.prompt_unit_price_micros, g.pt, g.pl, g.pd, g.ps, g.pte),
        ('completion'::text, g.completion_unit_price_micros, g.ct, g.cl, g.cd, g.cs, g.cte))
        AS d(direction, unit_price_micros, tokens, list_micros, discount_micros, subsidy_micros, tenant_micros)
    WHERE d.tokens IS NOT NULL) AS charges
GROUP BY tenant_id, period, model, direction, region, currency, unit_price_micros;

CREATE OR REPLACE VIEW tokengrid_usage_money_daily AS
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

CREATE OR REPLACE VIEW tokengrid_flows_daily AS
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

CREATE OR REPLACE VIEW tokengrid_program_spend_daily AS
SELECT program_id,
       (at AT TIME ZONE 'UTC')::date AS day,
       currency,
       count(DISTINCT tenant_id) AS tenants,
       sum(tokens)::bigint AS tokens,
       sum(subsidy_micros)::bigint AS subsidy_micros
FROM tokengrid_charges
WHERE program_id IS NOT NULL
GROUP BY program_id, (at AT TIME ZONE 'UTC')::date, currency;
