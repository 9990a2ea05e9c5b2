-- The ledger of docs/benchmarks.md, "Billing reads on a large ledger": run with psql on a database migrated through 0017
-- (a postgres-profile silo started on it once, with tenants t0 and t5 created over the admin API for the HTTP readings).
-- 1,020,000 ledger lines (340,000 jobs: reserve, charge, refund) over 2026-06-09 .. 2026-12-03; t0 holds half, t1..t99
-- the rest (~5,150 lines each). Two thirds of the charges are priced: before August in tokengrid_charges_by_direction
-- (pre-0014 rows), in August in tokengrid_charge_lines_separate (0014 rows), from September in the ledger row (0015).
-- Two models; every 7th job subsidised by program p; every 11th priced job prices its prompt only.
SET synchronous_commit = off;
CREATE TEMP TABLE j AS
SELECT g AS n,
       CASE WHEN g % 2 = 0 THEN 't0' ELSE 't' || (g % 99 + 1) END AS tenant_id,
       'job-' || g AS job_id,
       CASE WHEN g % 5 = 0 THEN 'm2' ELSE 'demo' END AS model,
       timestamptz '2026-06-09 00:00:00+00' + (g * interval '45 seconds') AS at,
       g % 3 <> 0 AS priced,
       g % 7 = 0 AS subsidised,
       g % 11 <> 0 AS has_completion,
       20 + g % 13 AS pl, g % 3 AS pd, 40 + g % 17 AS cl, g % 2 AS cd
FROM generate_series(1, 340000) g;
CREATE TEMP TABLE jobs AS
SELECT j.*, row_number() OVER (PARTITION BY tenant_id ORDER BY n) AS k,
       CASE WHEN subsidised THEN (pl - pd) / 2 ELSE 0 END AS ps,
       CASE WHEN subsidised THEN (cl - cd) / 2 ELSE 0 END AS cs,
       CASE WHEN at < '2026-08-01' THEN 'by_direction' WHEN at < '2026-09-01' THEN 'separate' ELSE 'ledger' END AS era
FROM j;
INSERT INTO tokengrid_ledger (tenant_id, sequence, at, job_id, model, kind, tokens, quota, charged_after, reserved_after, balance_after,
  prompt_tokens, completion_tokens, currency, price_version, program_id, node_id, silo, region, home_region,
  prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
  completion_unit_price_micros, completion_list_micros, completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
SELECT tenant_id, 3*(k-1)+1, at, job_id, model, 'reserve', 100, 1000000000, 0, 100, 1000000000-100, 0, 0,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM jobs
UNION ALL
SELECT tenant_id, 3*(k-1)+2, at + interval '2 seconds', job_id, model, 'charge', 60, 1000000000, 60, 40, 1000000000-100, 20, 40,
       p.currency, p.version, CASE WHEN p.on AND subsidised THEN 'p' END, CASE WHEN p.on THEN 'silo-a/cpu0' END,
       CASE WHEN p.on THEN 'silo-a' END, CASE WHEN p.on THEN 'eu' END, CASE WHEN p.on THEN 'eu' END,
       CASE WHEN p.on THEN 1000000 END, CASE WHEN p.on THEN pl END, CASE WHEN p.on THEN pd END, CASE WHEN p.on THEN ps END,
       CASE WHEN p.on THEN pl - pd - ps END,
       CASE WHEN p.on AND has_completion THEN 1000000 END, CASE WHEN p.on AND has_completion THEN cl END,
       CASE WHEN p.on AND has_completion THEN cd END, CASE WHEN p.on AND has_completion THEN cs END,
       CASE WHEN p.on AND has_completion THEN cl - cd - cs END
FROM jobs CROSS JOIN LATERAL (SELECT priced AND era = 'ledger' AS on) AS p0
CROSS JOIN LATERAL (SELECT p0.on, CASE WHEN p0.on THEN 'USD' END AS currency, CASE WHEN p0.on THEN 1 + (n % 2) END AS version) AS p
UNION ALL
SELECT tenant_id, 3*(k-1)+3, at + interval '2 seconds', job_id, model, 'refund', 40, 1000000000, 60, 0, 1000000000-60, 0, 0,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM jobs;
INSERT INTO tokengrid_charges_by_direction (tenant_id, sequence, direction, at, job_id, model, tokens, currency, price_version,
  unit_price_micros, list_micros, discount_micros, subsidy_micros, tenant_micros, program_id, node_id, silo, region, home_region)
SELECT tenant_id, 3*(k-1)+2, d.direction, at + interval '2 seconds', job_id, model, d.tokens, 'USD', 1, 1000000, d.list, d.disc, d.sub,
       d.list - d.disc - d.sub, CASE WHEN subsidised THEN 'p' END, 'silo-a/cpu0', 'silo-a', 'eu', 'eu'
FROM jobs CROSS JOIN LATERAL (VALUES ('prompt', 20, pl, pd, ps), ('completion', 40, cl, cd, cs)) AS d(direction, tokens, list, disc, sub)
WHERE priced AND era = 'by_direction' AND (d.direction = 'prompt' OR has_completion);
INSERT INTO tokengrid_charge_lines_separate (tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id, silo, region, home_region,
  prompt_tokens, prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros, prompt_tenant_micros,
  completion_tokens, completion_unit_price_micros, completion_list_micros, completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
SELECT tenant_id, 3*(k-1)+2, at + interval '2 seconds', job_id, model, 'USD', 1, CASE WHEN subsidised THEN 'p' END, 'silo-a/cpu0', 'silo-a', 'eu', 'eu',
       20, 1000000, pl, pd, ps, pl - pd - ps,
       CASE WHEN has_completion THEN 40 END, CASE WHEN has_completion THEN 1000000 END, CASE WHEN has_completion THEN cl END,
       CASE WHEN has_completion THEN cd END, CASE WHEN has_completion THEN cs END, CASE WHEN has_completion THEN cl - cd - cs END
FROM jobs WHERE priced AND era = 'separate';
INSERT INTO tokengrid_tenant_jobs (tenant_id, job_id) SELECT tenant_id, job_id FROM jobs ORDER BY n;
ANALYZE;
SELECT count(*), min(at), max(at) FROM tokengrid_ledger;
SELECT tenant_id, count(*) FROM tokengrid_ledger WHERE tenant_id IN ('t0', 't5') GROUP BY 1;
SELECT (SELECT count(*) FROM tokengrid_charges_by_direction) AS by_direction, (SELECT count(*) FROM tokengrid_charge_lines_separate) AS separate,
       (SELECT count(*) FROM tokengrid_ledger WHERE currency IS NOT NULL) AS ledger_priced;
