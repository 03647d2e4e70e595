-- A row's key is unique together with its event time in front: the rows of a LanScope file come
-- in time order, so the index grows at its end instead of at random places, which made inserting
-- the rows of a large file most of the time spent reading it. The key is made from the event time
-- among the rest, so (event_at_ms, key) is unique exactly when key is. Rows queued from now on
-- keep a compact payload (see outbox.rs); the ones already waiting keep theirs.
CREATE TABLE outbox_by_time (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    event_at_ms INTEGER NOT NULL,
    payload TEXT NOT NULL,
    enqueued_at_ms INTEGER NOT NULL
);
INSERT INTO outbox_by_time (id, key, event_at_ms, payload, enqueued_at_ms)
    SELECT id, key, COALESCE(json_extract(payload, '$.event_at_ms'), 0), payload, enqueued_at_ms FROM outbox;
-- Ids go on counting from where they were, also past rows already delivered.
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0))
    WHERE name = 'outbox_by_time';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_by_time', seq FROM sqlite_sequence WHERE name = 'outbox'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_by_time');
DROP TABLE outbox;
ALTER TABLE outbox_by_time RENAME TO outbox;
CREATE UNIQUE INDEX outbox_event_key ON outbox (event_at_ms, key);
