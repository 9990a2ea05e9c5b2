-- GET /v1/usage reads the period's days rather than all of a tenant's history (docs/billing.md, "Usage in money";
-- measured in docs/benchmarks.md, "Billing reads on a large ledger").
--
-- A tenant's charge lines by time, priced or not: GET /v1/usage reads the period's days of them, with their money from
-- their own row (migration 0015) or, for lines written before, from the two tables that held it then. Before this
-- index, only tokengrid_usage_money_daily's day filter selected them, after a scan of the whole ledger. One index entry
-- per settled job on the save path (docs/benchmarks.md has what it costs admissions).
CREATE INDEX tokengrid_ledger_charges_by_time ON tokengrid_ledger (tenant_id, at) WHERE kind = 'charge';

