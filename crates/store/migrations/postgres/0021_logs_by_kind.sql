-- ログ表示 filtered by ログオン or ログオフ: a company's logons come in the morning and its logoffs in
-- the evening, so the newest page of logons was found past every logoff of the day (200 000 logs
-- read for a page at 100 000 employees). Read by kind and time, the page is an index range.
CREATE INDEX logs_by_kind ON logs (company_id, kind, event_at_ms, idem_key);
