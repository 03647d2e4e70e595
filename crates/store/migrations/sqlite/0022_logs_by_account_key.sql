-- The logs' unique key follows the account, then the event time: (company, account, event time,
-- key). A manager's file lists its rows user by user, so a batch of the 05:00 burst now writes
-- one stretch of this index instead of a page in every part of a day ordered by time (each batch
-- dirtied nearly all of the day's pages of the time-ordered key and of logs_by_kind, and its
-- commit wrote them all again). The key also serves the reads by account, which had an index of
-- their own (logs_by_account). ログ表示's time-ordered indexes keep only the time, not the 32
-- characters of each key, and so are a fraction of their size. The key decides the user name,
-- hence the account: the unique rows are the same as before.
CREATE TABLE logs_rebuilt (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    event_at_ms INTEGER NOT NULL,
    idem_key TEXT NOT NULL,
    user_name TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    recorded_at_ms INTEGER,
    sub_manager_no TEXT,
    agent_no TEXT,
    computer_name TEXT,
    source_file TEXT,
    source_line INTEGER,
    received_at_ms INTEGER NOT NULL,
    connector_id INTEGER REFERENCES connectors(id)
);
INSERT INTO logs_rebuilt (id, company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms,
    sub_manager_no, agent_no, computer_name, source_file, source_line, received_at_ms, connector_id)
SELECT id, company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms,
    sub_manager_no, agent_no, computer_name, source_file, source_line, received_at_ms, connector_id
FROM logs ORDER BY id;
DROP TABLE logs;
ALTER TABLE logs_rebuilt RENAME TO logs;
CREATE UNIQUE INDEX logs_key ON logs (company_id, account, event_at_ms, idem_key);
CREATE INDEX logs_by_time ON logs (company_id, event_at_ms);
CREATE INDEX logs_by_kind ON logs (company_id, kind, event_at_ms);
