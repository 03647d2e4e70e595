-- 日別データ pages by name and by department, and 出勤 / 退勤 order read from indexes that follow
-- the order, instead of sorting every employee of the company for each page.
CREATE INDEX employees_by_name ON employees (company_id, last_name, first_name, code) WHERE deleted_at_ms IS NULL;
CREATE INDEX employees_by_department ON employees (company_id, department_id, code) WHERE deleted_at_ms IS NULL;
