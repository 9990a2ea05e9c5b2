-- Late charges: a priced charge dated in a month that was already closed when it was stored (a settlement retried
-- through a long outage, a job that ran across the month's end and settled late) was in no statement: the closed
-- month's statement was stored before it, and the next month's selected by date (docs/billing.md, "Late charges").
--
-- A close now also records, per tenant, the sequence of the tenant's newest ledger line it saw (tokengrid_tenants'
-- last_sequence, read in the same statement, so exactly the lines the stored statements hold). A priced charge of a
-- closed month with a higher sequence was stored after the close: it goes into the statement of the first month after
-- its own that is still open (or whose close saw it), as a line marked with the month it is dated in (late_from).
-- Closed statements are never rewritten. Closes made before this migration have no such record: every charge dated in
-- them is taken as held by them, as before.
CREATE TABLE tokengrid_period_tenants (
    period        text NOT NULL REFERENCES tokengrid_periods (period),
    tenant_id     text NOT NULL,
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
    PRIMARY KEY (period, tenant_id)
);

CREATE TRIGGER tokengrid_period_tenants_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_period_tenants
    FOR EACH ROW EXECUTE FUNCTION tokengrid_statements_are_immutable();
CREATE TRIGGER tokengrid_period_tenants_no_truncate BEFORE TRUNCATE ON tokengrid_period_tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_statements_are_immutable();

-- Whether the close recorded tokengrid_period_tenants (every close from this migration on). A new column with a
-- default changes no row, so the append-only triggers do not fire.
ALTER TABLE tokengrid_periods ADD COLUMN watermarked boolean NOT NULL DEFAULT false;

-- A statement line of late charges: the month they are dated in (NULL for the statement's own month's charges).
ALTER TABLE tokengrid_statements ADD COLUMN late_from text CHECK (late_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
