-- The late part of an open statement (docs/billing.md, "Late charges") reads a tenant's priced charges stored since the
-- last close, from the sequence that close saw. Without an index of priced lines by sequence, PostgreSQL read every
-- priced charge of the tenant dated before the month (through tokengrid_ledger_priced_by_time) or every line since the
-- close (reserves and refunds too, through the key), and checked each against the closes: 1.2-1.5 s for the benchmark
-- ledger's largest tenant (docs/benchmarks.md, "Late lines by sequence"). This partial index holds only priced lines,
-- like migration 0015's two: one more B-tree entry per priced settlement.
CREATE INDEX tokengrid_ledger_priced_by_sequence ON tokengrid_ledger (tenant_id, sequence) WHERE currency IS NOT NULL;
