-- Tokens for the attendance module's KING OF TIME-shaped API (/api/v1.0/), per company.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

-- Every punch received through the API, as received: a POST adds a record, it never replaces.
CREATE TABLE api_timerecords (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    date TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    code INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX api_timerecords_by_date ON api_timerecords (company_id, date);

-- Remote mode: the company's punches go to another attendance service instead of the
-- embedded module.
ALTER TABLE companies ADD COLUMN remote_base_url TEXT;
ALTER TABLE companies ADD COLUMN remote_token TEXT;
ALTER TABLE companies ADD COLUMN remote_settle_minutes INTEGER NOT NULL DEFAULT 60;
ALTER TABLE companies ADD COLUMN remote_paused_reason TEXT;

-- The remote outbox: one row per (employee, business day, kind), sent at most once.
CREATE TABLE remote_punches (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_key TEXT NOT NULL,
    business_date TEXT NOT NULL,
    kind INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    not_before_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    lease_until_ms INTEGER,
    last_error TEXT,
    sent_at_ms INTEGER,
    UNIQUE (company_id, employee_key, business_date, kind)
);
CREATE INDEX remote_punches_due ON remote_punches (state, not_before_ms);
