-- 日別データ by 出勤 or 退勤 walks the day's punches of that kind in time order from here, a page
-- at a time, instead of sorting every employee of the company for each page. It serves every
-- query the index by (company, day) served, which it replaces.
CREATE INDEX punches_by_time ON punches (company_id, business_date, kind, at_ms);
DROP INDEX punches_by_date;
CREATE INDEX remote_punches_by_time ON remote_punches (company_id, business_date, kind, at_ms);
