-- Orleans reminders (Microsoft.Orleans.Reminders.AdoNet) on PostgreSQL, in TokenGrid's own schema.
--
-- A reminder is identified by service id, grain id (its text form) and name. grain_hash is the grain's uniform hash as
-- a signed 32-bit integer: each silo reads the reminders of its hash range. period_ms is in milliseconds. The version
-- is the reminder's ETag.
CREATE TABLE orleans_reminders (
    service_id    text NOT NULL,
    grain_id      text NOT NULL,
    reminder_name text NOT NULL,
    start_time    timestamptz NOT NULL,
    period_ms     bigint NOT NULL,
    grain_hash    integer NOT NULL,
    version       integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminders_by_hash ON orleans_reminders (service_id, grain_hash);

INSERT INTO orleans_queries (query_key, provider, query_text) VALUES

-- Creates or replaces a reminder; answers its new version.
('UpsertReminderRowKey', 'reminders', $sql$
INSERT INTO orleans_reminders AS r (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_time = excluded.start_time, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash,
    version = r.version + 1
RETURNING r.version AS "Version"
$sql$),

-- One grain's reminders.
('ReadReminderRowsKey', 'reminders', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId
$sql$),

-- One reminder (no row when it does not exist).
('ReadReminderRowKey', 'reminders', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
$sql$),

-- Reminders with a hash in (@BeginHash, @EndHash], a range that does not wrap around.
('ReadRangeRows1Key', 'reminders', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash
$sql$),

-- Reminders with a hash above @BeginHash or at most @EndHash: a range that wraps around.
('ReadRangeRows2Key', 'reminders', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash)
$sql$),

-- Deletes a reminder if it is still at @Version. Answers one boolean: whether it did.
('DeleteReminderRowKey', 'reminders', $sql$
WITH deleted AS (
    DELETE FROM orleans_reminders
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM deleted) AS "Deleted"
$sql$),

-- Deletes every reminder of the service.
('DeleteReminderRowsKey', 'reminders', $sql$
DELETE FROM orleans_reminders WHERE service_id = @ServiceId
$sql$);
