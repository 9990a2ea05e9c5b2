-- A priced charge line of the ledger carries its price in its own ledger row: the charge-level columns (currency,
-- price version, program, where the tokens were created, the tenant's home region) and, per direction, the unit price
-- and the amounts, beside the tokens the row already splits into prompt_tokens and completion_tokens. A priced
-- settlement then writes no row of its own: one heap row and three index entries fewer than with
-- tokengrid_charge_lines (migration 0014), the most of what pricing added to a tenant's save on PostgreSQL
-- (docs/benchmarks.md, issue 17). Documented in docs/billing.md ("Where priced charges are stored").
--
-- tokengrid_charge_lines keeps its name and columns as a view: the rows written before this migration (the table,
-- renamed tokengrid_charge_lines_separate, still append-only) and the ledger's priced charge lines. Every view over it
-- and every query reads it as before. Amounts are integer micros of currency, rounded once per direction, half to
-- even (list = discount + subsidy + tenant exactly); a direction's columns are all NULL or none.
--
-- The new columns have no default, so adding them rewrites no line and fires no trigger; every line written before
-- reads NULL (unpriced). Their checks are NOT VALID for the same reason as migration 0006's: they hold for every line
-- written since, and the lines before cannot break them.
ALTER TABLE tokengrid_charge_lines RENAME TO tokengrid_charge_lines_separate;

ALTER TABLE tokengrid_ledger
    ADD COLUMN currency                     char(3),
    ADD COLUMN price_version                integer,
    ADD COLUMN program_id                   text,
    ADD COLUMN node_id                      text,
    ADD COLUMN silo                         text,
    ADD COLUMN region                       text,
    ADD COLUMN home_region                  text,
    ADD COLUMN prompt_unit_price_micros     bigint,
    ADD COLUMN prompt_list_micros           bigint,
    ADD COLUMN prompt_discount_micros       bigint,
    ADD COLUMN prompt_subsidy_micros        bigint,
    ADD COLUMN prompt_tenant_micros         bigint,
    ADD COLUMN completion_unit_price_micros bigint,
    ADD COLUMN completion_list_micros       bigint,
    ADD COLUMN completion_discount_micros   bigint,
    ADD COLUMN completion_subsidy_micros    bigint,
    ADD COLUMN completion_tenant_micros     bigint;

-- Only a charge is priced, and a priced line names its currency and price version.
ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_priced_charges CHECK (
    (currency IS NULL) = (price_version IS NULL)
    AND (currency IS NULL OR kind = 'charge' AND price_version > 0)
    AND (currency IS NOT NULL OR program_id IS NULL AND node_id IS NULL AND silo IS NULL AND region IS NULL
         AND home_region IS NULL AND prompt_unit_price_micros IS NULL AND completion_unit_price_micros IS NULL)) NOT VALID;

-- Each direction is all there or not at all, its amounts add up, and only a program pays a subsidy.
ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_priced_prompt CHECK (
    (prompt_list_micros IS NULL) = (prompt_unit_price_micros IS NULL)
    AND (prompt_discount_micros IS NULL) = (prompt_unit_price_micros IS NULL)
    AND (prompt_subsidy_micros IS NULL) = (prompt_unit_price_micros IS NULL)
    AND (prompt_tenant_micros IS NULL) = (prompt_unit_price_micros IS NULL)
    AND prompt_unit_price_micros >= 0 AND prompt_list_micros >= 0 AND prompt_subsidy_micros >= 0 AND prompt_tenant_micros >= 0
    AND prompt_list_micros = prompt_discount_micros + prompt_subsidy_micros + prompt_tenant_micros) NOT VALID;

ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_priced_completion CHECK (
    (completion_list_micros IS NULL) = (completion_unit_price_micros IS NULL)
    AND (completion_discount_micros IS NULL) = (completion_unit_price_micros IS NULL)
    AND (completion_subsidy_micros IS NULL) = (completion_unit_price_micros IS NULL)
    AND (completion_tenant_micros IS NULL) = (completion_unit_price_micros IS NULL)
    AND completion_unit_price_micros >= 0 AND completion_list_micros >= 0 AND completion_subsidy_micros >= 0
    AND completion_tenant_micros >= 0
    AND completion_list_micros = completion_discount_micros + completion_subsidy_micros + completion_tenant_micros) NOT VALID;

ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_priced_subsidy CHECK (
    coalesce(prompt_subsidy_micros, 0) = 0 AND coalesce(completion_subsidy_micros, 0) = 0 OR program_id IS NOT NULL) NOT VALID;

-- What statements read a tenant's period by, and programs' spend theirs: only priced lines are in these indexes.
CREATE INDEX tokengrid_ledger_priced_by_time ON tokengrid_ledger (tenant_id, at) WHERE currency IS NOT NULL;
CREATE INDEX tokengrid_ledger_priced_by_program ON tokengrid_ledger (program_id, at) WHERE program_id IS NOT NULL;

-- A priced charge line, its directions side by side, as migration 0014's table had it: that table's rows, then the
-- ledger's priced lines (a direction without a price reads NULL tokens, as in that table).
CREATE VIEW tokengrid_charge_lines AS
SELECT tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id, silo, region, home_region,
       prompt_tokens, prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
       completion_tokens, completion_unit_price_micros, completion_list_micros, completion_discount_micros, completion_subsidy_micros,
       completion_tenant_micros
FROM tokengrid_charge_lines_separate
UNION ALL
SELECT tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id, silo, region, home_region,
       CASE WHEN prompt_unit_price_micros IS NOT NULL THEN prompt_tokens END, prompt_unit_price_micros, prompt_list_micros,
       prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
       CASE WHEN completion_unit_price_micros IS NOT NULL THEN completion_tokens END, completion_unit_price_micros,
       completion_list_micros, completion_discount_micros, completion_subsidy_micros, completion_tenant_micros
FROM tokengrid_ledger
WHERE currency IS NOT NULL;

-- The views that read migration 0014's table read it by identity (now tokengrid_charge_lines_separate); created again
-- with the same text, they read the view above, so both kinds of rows.
CREATE OR REPLACE VIEW tokengrid_charges AS
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
