-- Orleans' grain state version (migration 0002) wraps around instead of overflowing.
--
-- The ADO.NET provider keeps the version, its ETag, as a 32-bit integer, so the column is one. A state written
-- 2,147,483,647 times made `version + 1` fail with 22003 (integer out of range) on every later write, clear or delete:
-- that grain could never save again, and its callers were answered 503 "retry shortly" for good. The version now goes
-- from 2,147,483,647 back to 1: a write still succeeds only at the version it read, and a writer that read the same
-- version 2^31 writes ago is the only one that could mistake the one for the other.

UPDATE orleans_queries SET query_text = $sql$
WITH created AS (
    INSERT INTO orleans_grain_state (service_id, state_name, grain_n0, grain_n1, grain_key, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), replaced AS (
    UPDATE orleans_grain_state
    SET payload = @PayloadBinary, version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END, modified_at = now()
    WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM created
UNION ALL
SELECT version FROM replaced
$sql$ WHERE query_key = 'WriteToStorageKey';

UPDATE orleans_queries SET query_text = $sql$
WITH created AS (
    INSERT INTO orleans_grain_state (service_id, state_name, grain_n0, grain_n1, grain_key, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), NULL, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), cleared AS (
    UPDATE orleans_grain_state
    SET payload = NULL, version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END, modified_at = now()
    WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM created
UNION ALL
SELECT version FROM cleared
$sql$ WHERE query_key = 'ClearStorageKey';

-- Answers the version after the deleted one, as 0002's did (any value other than the version sent means success).
UPDATE orleans_queries SET query_text = $sql$
DELETE FROM orleans_grain_state
WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_n0 = @GrainIdN0 AND grain_n1 = @GrainIdN1 AND grain_key = coalesce(@GrainIdExtensionString, '')
RETURNING CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END AS "NewGrainStateVersion"
$sql$ WHERE query_key = 'DeleteStorageKey';
