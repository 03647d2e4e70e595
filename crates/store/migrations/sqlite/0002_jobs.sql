-- Background jobs shared by every server process. A job is identified by (kind, company,
-- slot): every process may schedule the 03:00 sync of a day, only one row exists, and only
-- one process holds its lease at a time. A process that dies mid-job leaves a lease that
-- expires, and another process takes the job over.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    company_id INTEGER NOT NULL DEFAULT 0,
    slot TEXT NOT NULL,
    run_at_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    lease_until_ms INTEGER,
    finished_at_ms INTEGER,
    result TEXT,
    UNIQUE (kind, company_id, slot)
);
CREATE INDEX jobs_due ON jobs (state, run_at_ms);
