-- Everything that decides a punch has history, and the punches table becomes a cache of the
-- derivation over it (see crates/store/src/pipeline.rs).

-- Holders of each サービスアカウント over time, [from_ms, to_ms) in event time. A log belongs to the
-- employee who held its account at the log's event time. NULL from_ms: from the beginning (the
-- first holder); NULL to_ms: still holds.
CREATE TABLE link_history (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    account TEXT NOT NULL,
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    from_ms INTEGER,
    to_ms INTEGER,
    changed_at_ms INTEGER NOT NULL
);
CREATE INDEX link_history_by_account ON link_history (company_id, account);
CREATE INDEX link_history_by_employee ON link_history (company_id, employee_id);

-- A department's 日付変更時間 from a business date on; NULL effective_from: from the beginning.
CREATE TABLE department_day_changes (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    effective_from TEXT,
    day_change_minutes INTEGER NOT NULL
);
CREATE INDEX department_day_changes_by_department ON department_day_changes (company_id, department_id);

-- An employee's 所属 from a business date on; NULL effective_from: from the beginning.
CREATE TABLE employee_departments (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    effective_from TEXT,
    department_id INTEGER NOT NULL REFERENCES departments(id)
);
CREATE INDEX employee_departments_by_employee ON employee_departments (company_id, employee_id);
CREATE INDEX employee_departments_by_department ON employee_departments (company_id, department_id);

-- 手入力 punches, an input of the derivation: they survive every recomputation and can be cleared.
CREATE TABLE manual_punches (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    business_date TEXT NOT NULL,
    kind INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (company_id, employee_id, business_date, kind)
);

CREATE INDEX api_timerecords_by_employee ON api_timerecords (company_id, employee_id, date);

INSERT INTO link_history (company_id, account, employee_id, from_ms, to_ms, changed_at_ms)
SELECT u.company_id, u.service_account, e.id, NULL, NULL, 0 FROM lr_users u
JOIN employees e ON e.company_id = u.company_id AND e.employee_key = u.employee_key
WHERE u.service_account IS NOT NULL;

INSERT INTO department_day_changes (company_id, department_id, effective_from, day_change_minutes)
SELECT company_id, id, NULL, day_change_minutes FROM departments;

INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id)
SELECT company_id, id, NULL, department_id FROM employees;

INSERT INTO manual_punches (company_id, employee_id, business_date, kind, at_ms, actor, updated_at_ms)
SELECT company_id, employee_id, business_date, kind, at_ms, '', updated_at_ms FROM punches WHERE method = '手入力';
