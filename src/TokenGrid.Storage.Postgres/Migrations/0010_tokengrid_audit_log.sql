-- The audit log of admin actions (PostgresAuditLog; docs/billing.md, Audit log): budget, price and plan changes, key
-- issue and revoke, drain and resume, period close. Append-only, like the ledger.
--
-- sequence is the database's: appends take a lock that only other appends wait for, so sequences commit in order and a
-- reader paging with "sequence > last seen" never skips an entry that commits late (a rolled-back append leaves a gap).
-- value_before / value_after are the resource as the admin API shows it, kept as sent (json, not jsonb, keeps the text).
CREATE TABLE tokengrid_audit_log (
    sequence     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL CHECK (actor <> ''),
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    target       text NOT NULL CHECK (target <> ''),
    value_before json,
    value_after  json,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tokengrid_audit_log_by_action ON tokengrid_audit_log (action, sequence);
CREATE INDEX tokengrid_audit_log_by_target ON tokengrid_audit_log (target, sequence);

-- Entries are never changed or removed.
CREATE FUNCTION tokengrid_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER tokengrid_audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON tokengrid_audit_log
    FOR EACH ROW EXECUTE FUNCTION tokengrid_audit_log_is_append_only();
CREATE TRIGGER tokengrid_audit_log_no_truncate BEFORE TRUNCATE ON tokengrid_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tokengrid_audit_log_is_append_only();
