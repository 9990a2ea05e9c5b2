-- Orleans cluster membership (Microsoft.Orleans.Clustering.AdoNet) on PostgreSQL, in TokenGrid's own schema.
--
-- The ADO.NET providers run only the statements they find in OrleansQuery (key -> SQL text). They bind parameters by
-- name (@DeploymentId, @Address, ...) and read result columns by name, case-insensitively, so the queries below alias
-- our snake_case columns to the names the providers expect. Each query is one statement: no functions to keep in step.

-- Named queries for every provider, with the provider that owns them. Orleans reads them through the view below,
-- whose unquoted name and columns (OrleansQuery, QueryKey, QueryText) are fixed by the providers.
CREATE TABLE orleans_queries (
    query_key  text PRIMARY KEY,
    provider   text NOT NULL CHECK (provider IN ('clustering', 'persistence', 'reminders')),
    query_text text NOT NULL
);

CREATE VIEW orleansquery AS
SELECT query_key AS querykey, query_text AS querytext FROM orleans_queries;

-- One row per cluster (Orleans calls the cluster id "deployment id"): the membership table's version, which every
-- change of a silo's row checks and bumps, so concurrent changes from different silos serialize.
CREATE TABLE orleans_membership_versions (
    deployment_id text PRIMARY KEY,
    version       integer NOT NULL DEFAULT 0,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation (address, port, generation). Status holds Orleans' SiloStatus values; see the view
-- orleans_silos for their names. Suspect times: "silo-address,time|silo-address,time" as Orleans writes them.
CREATE TABLE orleans_membership (
    deployment_id   text NOT NULL REFERENCES orleans_membership_versions (deployment_id) ON DELETE CASCADE,
    address         text NOT NULL,
    port            integer NOT NULL,
    generation      integer NOT NULL,
    silo_name       text NOT NULL,
    host_name       text NOT NULL,
    status          integer NOT NULL,
    proxy_port      integer,
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- For operators: the membership with readable statuses.
CREATE VIEW orleans_silos AS
SELECT deployment_id AS cluster_id, silo_name, host_name, address, port, proxy_port AS gateway_port, generation,
       CASE status WHEN 0 THEN 'none' WHEN 1 THEN 'created' WHEN 2 THEN 'joining' WHEN 3 THEN 'active'
                   WHEN 4 THEN 'shutting_down' WHEN 5 THEN 'stopping' WHEN 6 THEN 'dead' ELSE status::text END AS status,
       start_time, i_am_alive_time
FROM orleans_membership;

INSERT INTO orleans_queries (query_key, provider, query_text) VALUES

-- Creates the cluster's version row if missing. Returns one boolean: whether it was created.
('InsertMembershipVersionKey', 'clustering', $sql$
WITH created AS (
    INSERT INTO orleans_membership_versions (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created) AS "Created"
$sql$),

-- Adds a silo's row if the table is still at @Version, and bumps the version. Returns one boolean: whether it did.
-- The version row is locked first, so a concurrent change either went before (and this one finds a newer version)
-- or waits.
('InsertMembershipKey', 'clustering', $sql$
WITH current_version AS (
    SELECT deployment_id FROM orleans_membership_versions
    WHERE deployment_id = @DeploymentId AND version = @Version
    FOR UPDATE
), inserted AS (
    INSERT INTO orleans_membership (deployment_id, address, port, generation, silo_name, host_name, status,
                                    proxy_port, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
           @ProxyPort, @StartTime, @IAmAliveTime
    FROM current_version
    ON CONFLICT (deployment_id, address, port, generation) DO NOTHING
    RETURNING deployment_id
), bumped AS (
    UPDATE orleans_membership_versions v SET version = v.version + 1, changed_at = now()
    FROM inserted i WHERE v.deployment_id = i.deployment_id
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM bumped) AS "Succeeded"
$sql$),

-- Changes a silo's status, suspicions and liveness if the table is still at @Version, and bumps the version.
-- Returns one boolean: whether it did.
('UpdateMembershipKey', 'clustering', $sql$
WITH current_version AS (
    SELECT deployment_id FROM orleans_membership_versions
    WHERE deployment_id = @DeploymentId AND version = @Version
    FOR UPDATE
), updated AS (
    UPDATE orleans_membership m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM current_version c
    WHERE m.deployment_id = c.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING m.deployment_id
), bumped AS (
    UPDATE orleans_membership_versions v SET version = v.version + 1, changed_at = now()
    FROM updated u WHERE v.deployment_id = u.deployment_id
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM bumped) AS "Succeeded"
$sql$),

-- The heartbeat. Does not touch the version: liveness is not a membership change.
('UpdateIAmAlivetimeKey', 'clustering', $sql$
UPDATE orleans_membership SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$sql$),

-- One silo's row with the table version. Always one row while the cluster exists (the version row, outer-joined),
-- with null silo columns when that silo has no row: Orleans reads the version from it either way.
('MembershipReadRowKey', 'clustering', $sql$
SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
       m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM orleans_membership_versions v
LEFT JOIN orleans_membership m
       ON m.deployment_id = v.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId
$sql$),

-- Every silo's row with the table version, in the same shape (one row with null silo columns when there is none).
('MembershipReadAllKey', 'clustering', $sql$
SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
       m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM orleans_membership_versions v
LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId
$sql$),

-- The gateways clients may connect to: silos with @Status (Active) and a gateway port.
('GatewaysQueryKey', 'clustering', $sql$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
$sql$),

-- Forgets a whole cluster (its silo rows go with the version row).
('DeleteMembershipTableEntriesKey', 'clustering', $sql$
DELETE FROM orleans_membership_versions WHERE deployment_id = @DeploymentId
$sql$),

-- Removes rows of silos that are not active and have not been heard from since @IAmAliveTime.
('CleanupDefunctSiloEntriesKey', 'clustering', $sql$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3
$sql$);
