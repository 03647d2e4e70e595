-- What each employee's months add up to for the long-hours alerts of 診断: 時間外 and 休日労働 in
-- minutes, by month (YYYY-MM), as `loginrec_rules::work_time` adds them up. A cache: every
-- change of an employee's punches marks the months it touches in work_months_stale, and 診断
-- adds those up again before it reads.
CREATE TABLE work_months (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES employees(id),
    month TEXT NOT NULL,
    overtime BIGINT NOT NULL,
    holiday_work BIGINT NOT NULL,
    PRIMARY KEY (company_id, employee_id, month)
);

-- The months to add up again; marked_at_ms tells a mark made while they were being added up
-- from the one that was read.
CREATE TABLE work_months_stale (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES employees(id),
    month TEXT NOT NULL,
    marked_at_ms BIGINT NOT NULL,
    PRIMARY KEY (company_id, employee_id, month)
);

-- Every month that already has punches is added up on the first visit to 診断.
INSERT INTO work_months_stale (company_id, employee_id, month, marked_at_ms)
SELECT DISTINCT company_id, employee_id, substr(business_date, 1, 7), 0 FROM punches;
INSERT INTO work_months_stale (company_id, employee_id, month, marked_at_ms)
SELECT DISTINCT r.company_id, e.id, substr(r.business_date, 1, 7), 0
FROM remote_punches r JOIN employees e ON e.company_id = r.company_id AND e.employee_key = r.employee_key
WHERE true
ON CONFLICT DO NOTHING;
