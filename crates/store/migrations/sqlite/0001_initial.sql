-- 企業 (companies) and their LanScope access tokens.
CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    lanscope_enabled INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    last_ingest_at_ms INTEGER,
    connector_version TEXT,
    connector_host TEXT,
    connector_collection_start TEXT
);

-- Only a SHA-256 of each token is kept; the token itself is shown once.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

-- 勤革時: 所属 (departments) with their 日付変更時間 in minutes after midnight.
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    day_change_minutes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (company_id, code)
);

-- 勤革時: 従業員. employee_key never changes; code (打刻先アカウント) can.
CREATE TABLE employees (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_key TEXT NOT NULL,
    code TEXT NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    employment_type TEXT NOT NULL DEFAULT '正社員',
    deleted_at_ms INTEGER,
    UNIQUE (company_id, employee_key)
);
CREATE UNIQUE INDEX employees_live_code ON employees (company_id, code) WHERE deleted_at_ms IS NULL;

-- ログイン記録: its users (ユーザー設定), synced from the attendance master, and the
-- サービスアカウント (LanScope user name) each is linked to.
CREATE TABLE lr_users (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_key TEXT NOT NULL,
    employee_code TEXT NOT NULL,
    full_name TEXT NOT NULL,
    service_account TEXT,
    UNIQUE (company_id, employee_key)
);
CREATE UNIQUE INDEX lr_users_service_account ON lr_users (company_id, service_account);

-- Every received LanScope log. The unique key is time-ordered (company, event time, key):
-- the 05:00 burst appends near the end of the index instead of scattering writes.
CREATE TABLE logs (
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
    connector_version TEXT NOT NULL,
    connector_host TEXT NOT NULL,
    source_file TEXT,
    source_line INTEGER,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (company_id, event_at_ms, idem_key)
);
CREATE INDEX logs_by_account ON logs (company_id, account, event_at_ms);

-- 勤革時: punches (打刻). One per employee, business day and kind; method 'PC' for those
-- derived from LanScope logs. A punch of another method is never overwritten by PC logs.
CREATE TABLE punches (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    business_date TEXT NOT NULL,
    kind INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    method TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (company_id, employee_id, business_date, kind)
);
CREATE INDEX punches_by_date ON punches (company_id, business_date);
