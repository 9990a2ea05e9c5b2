-- Money beside tokens (docs/billing.md): the tenant's spend moves on the ledger lines, and every priced charge is
-- split per direction in tokengrid_charges, with who pays what and where the tokens were created.
--
-- spend_micros: a priced job's most possible cost to the tenant on its reserve line, the tenant's exact share on its
-- charge line, the rest on its refund line (0 for unpriced jobs). spend_charged_after / spend_reserved_after: the
-- period's totals after the line. Lines written before this migration read 0 (a constant default rewrites no row).
ALTER TABLE tokengrid_ledger
    ADD COLUMN spend_micros         bigint NOT NULL DEFAULT 0 CHECK (spend_micros >= 0),
    ADD COLUMN spend_charged_after  bigint NOT NULL DEFAULT 0 CHECK (spend_charged_after >= 0),
    ADD COLUMN spend_reserved_after bigint NOT NULL DEFAULT 0 CHECK (spend_reserved_after >= 0);

-- One row per direction of a priced charge line (tenant_id, sequence) of the ledger, written in the same transaction.
-- Amounts are integer micros of `currency` (1 unit = 1,000,000), each rounded once, half to even:
--   list_micros = round(tokens × unit_price_micros / 1,000,000), and list = discount + subsidy + tenant exactly.
-- discount_micros is negative for a negotiated price above list.
CREATE TABLE tokengrid_charges (
    tenant_id         text NOT NULL,
    sequence          bigint NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('prompt', 'completion')),
    at                timestamptz NOT NULL,
    job_id            text NOT NULL,
    model             text NOT NULL,
    tokens            bigint NOT NULL CHECK (tokens >= 0),
    currency          char(3) NOT NULL,
    price_version     integer NOT NULL CHECK (price_version > 0),
    unit_price_micros bigint NOT NULL CHECK (unit_price_micros >= 0),
    list_micros       bigint NOT NULL CHECK (list_micros >= 0),
    discount_micros   bigint NOT NULL,
    subsidy_micros    bigint NOT NULL CHECK (subsidy_micros >= 0),
    tenant_micros     bigint NOT NULL CHECK (tenant_micros >= 0),
    program_id        text,
    node_id           text,
    silo              text,
    region            text,
    home_region       text,
    PRIMARY KEY (tenant_id, sequence, direction),
    FOREIGN KEY (tenant_id, sequence) REFERENCES tokengrid_ledger (tenant_id, sequence),
    CHECK (list_micros = discount_micros + subsidy_micros + tenant_micros),
    CHECK (subsidy_micros = 0 OR program_id IS NOT NULL)
);

CREATE INDEX tokengrid_charges_by_time ON tokengrid_charges (tenant_id, at);
CREATE INDEX tokengrid_charges_by_program ON tokengrid_charges (program_id, at) WHERE program_id IS NOT NULL;

CREATE TRIGGER tokengrid_charges_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_charges
    FOR EACH ROW EXECUTE FUNCTION tokengrid_ledger_is_append_only();
CREATE TRIGGER tokengrid_charges_no_truncate BEFORE TRUNCATE ON tokengrid_charges
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_ledger_is_append_only();
