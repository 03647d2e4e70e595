-- A punch is named by its key (company, employee, business day, kind); the one statement that read
-- an id of one, the cache's DELETE, names it by that key now (see the PostgreSQL migration). SQLite
-- cannot drop a primary key's column: the table is written again without it.
CREATE TABLE punches_by_key (
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    business_date TEXT NOT NULL,
    kind INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    method TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (company_id, employee_id, business_date, kind)
);
INSERT INTO punches_by_key (company_id, employee_id, business_date, kind, at_ms, method, updated_at_ms)
    SELECT company_id, employee_id, business_date, kind, at_ms, method, updated_at_ms FROM punches;
DROP TABLE punches;
ALTER TABLE punches_by_key RENAME TO punches;
CREATE INDEX punches_by_time ON punches (company_id, business_date, kind, at_ms);
