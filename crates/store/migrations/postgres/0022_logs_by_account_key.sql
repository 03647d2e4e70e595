-- The logs' unique key follows the account, then the event time: (company, account, event time,
-- key). A manager's file lists its rows user by user, so a batch of the 05:00 burst now writes
-- one stretch of this index instead of a page in every part of a day ordered by time. The key
-- also serves the reads by account, which had an index of their own (logs_by_account). ログ表示's
-- time-ordered indexes keep only the time, not the 32 characters of each key. The key decides
-- the user name, hence the account: the unique rows are the same as before.
CREATE UNIQUE INDEX logs_key ON logs (company_id, account, event_at_ms, idem_key);
ALTER TABLE logs DROP CONSTRAINT logs_company_id_event_at_ms_idem_key_key;
DROP INDEX logs_by_account;
DROP INDEX logs_by_kind;
CREATE INDEX logs_by_time ON logs (company_id, event_at_ms);
CREATE INDEX logs_by_kind ON logs (company_id, kind, event_at_ms);
