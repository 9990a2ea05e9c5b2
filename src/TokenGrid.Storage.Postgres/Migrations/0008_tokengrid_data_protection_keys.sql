-- The ASP.NET Core Data Protection key ring (PostgresDataProtectionKeyStore; silo-config/README.md, The capacity view).
--
-- One row per element of the key ring (a key, or a revocation), as the XML Data Protection writes, under its friendly
-- name. Every silo of the cluster reads the same ring, so a dashboard session cookie made by one silo is accepted by
-- another and after a restart. The keys are stored as Data Protection gives them (no XML encryptor is configured): this
-- table is as secret as the rest of the database.
CREATE TABLE tokengrid_data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now()
);
