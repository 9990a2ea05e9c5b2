-- Billing reads select a window of time rather than all of history (docs/billing.md, "Usage in money"; measured in
-- docs/benchmarks.md, "Billing reads on a large ledger").
--
-- A tenant's charge lines by time, priced or not: GET /v1/usage reads the period's days of them, with their money from
-- their own row (migration 0015) or, for lines written before, from the two tables that held it then. Before this
-- index, only tokengrid_usage_money_daily's day filter selected them, after a scan of the whole ledger. One index entry
-- per settled job on the save path (docs/benchmarks.md has what it costs admissions).
CREATE INDEX tokengrid_ledger_charges_by_time ON tokengrid_ledger (tenant_id, at) WHERE kind = 'charge';

-- Every tenant's priced charges by time, for a period's close: the ledger's priced lines have their indexes by time
-- (migrations 0004 and 0015); the rows written before migration 0015 are in two tables ordered only by tenant first.
-- Neither table is written by this release (the older release's silos insert into the second during a rolling update),
-- so these cost no save.
CREATE INDEX tokengrid_charges_by_direction_at ON tokengrid_charges_by_direction (at);
CREATE INDEX tokengrid_charge_lines_separate_at ON tokengrid_charge_lines_separate (at);
