-- ログ表示 reads the logs newest first by time, and with its kind filter, by kind and time: two
-- indexes, each written for every log of a 100 000-employee morning. One index by time that
-- carries the kind serves both: a page of one kind is read backwards through the time range,
-- its kind compared in the index without reading the rows of the other kind (a page of logons
-- behind 100 000 logoffs: 0.05 → 2.3 ms in psql).
DROP INDEX logs_by_kind;
DROP INDEX logs_by_time;
CREATE INDEX logs_by_time ON logs (company_id, event_at_ms, kind);
