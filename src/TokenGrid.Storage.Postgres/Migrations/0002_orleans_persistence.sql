-- Orleans grain state (Microsoft.Orleans.Persistence.AdoNet) on PostgreSQL, in TokenGrid's own schema.
--
-- The provider identifies a state by service id, state name (@GrainTypeString), the grain key as two 64-bit halves
-- (@GrainIdN0, @GrainIdN1: a Guid key, or 0 and an integer key) and a string (@GrainIdExtensionString: a string key
-- or a key extension, null when there is none). It also sends hashes of the key and the state name, which this schema
-- does not need: the primary key is the identity itself. Payloads are opaque bytes (Orleans' serializer).
--
-- Versions are the ETags: a write names the version it read and succeeds only if the row is still at it.
-- Every query answers with the new version, or with no row when the version did not match, which the provider
-- reports as InconsistentStateException.
CREATE TABLE orleans_grain_state (
    service_id  text NOT NULL,
    state_name  text NOT NULL,
    grain_n0    bigint NOT NULL,
    grain_n1    bigint NOT NULL,
    grain_key   text NOT NULL,
    payload     bytea,
    version     integer NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, state_name, grain_n0, grain_n1, grain_key)
);

INSERT INTO orleans_queries (query_key, provider, query_text) VALUES

-- The stored payload and version; no row when the state was never written.
('ReadFromStorageKey', 'persistence', $sql$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM orleans_grain_state
WHERE service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
$sql$),

-- Without a version: creates the row at version 1 (nothing when another writer created it first).
-- With one: replaces the payload if the row is still at that version. Answers the new version.
('WriteToStorageKey', 'persistence', $sql$
WITH created AS (
    INSERT INTO orleans_grain_state (service_id, state_name, grain_n0, grain_n1, grain_key, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), replaced AS (
    UPDATE orleans_grain_state
    SET payload = @PayloadBinary, version = version + 1, modified_at = now()
    WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM created
UNION ALL
SELECT version FROM replaced
$sql$),

-- Clears the payload and keeps the row (so versions keep counting). Same version rules as a write.
('ClearStorageKey', 'persistence', $sql$
WITH created AS (
    INSERT INTO orleans_grain_state (service_id, state_name, grain_n0, grain_n1, grain_key, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), NULL, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), cleared AS (
    UPDATE orleans_grain_state
    SET payload = NULL, version = version + 1, modified_at = now()
    WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM created
UNION ALL
SELECT version FROM cleared
$sql$),

-- Deletes the row if it is still at the version given (the provider's DeleteStateOnClear). Answers the deleted
-- version + 1, as the provider expects: any value other than the version it sent means success.
('DeleteStorageKey', 'persistence', $sql$
DELETE FROM orleans_grain_state
WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
RETURNING version + 1 AS "NewGrainStateVersion"
$sql$);
