-- Administrators: company_id 0 is the operator (the support center); others belong to one
-- company. Passwords are Argon2 hashes (PHC strings).
CREATE TABLE admins (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    login_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (company_id, login_id)
);

-- Sessions live in the database so that every server process knows them. Only a SHA-256 of
-- the session id is stored.
CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY,
    admin_id INTEGER NOT NULL REFERENCES admins(id),
    csrf_token TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

-- Failed logins, for rate limiting across processes.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (subject, at_ms);

-- What administrators and jobs did, shown in ログ表示 beside the LanScope logs.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_by_company ON audit_events (company_id, at_ms);
