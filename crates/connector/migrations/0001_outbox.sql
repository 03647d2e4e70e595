-- Files already read, with what identified their content when they were read.
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    layout TEXT,
    rows INTEGER NOT NULL,
    row_errors INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    problem TEXT,
    read_at_ms INTEGER NOT NULL
);

-- Rows waiting for the server's acknowledgement, in the order they were read.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    enqueued_at_ms INTEGER NOT NULL
);

-- Rows the server refused for good, kept for the administrator.
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);

-- CSV lines that could not be read, with file, line and field.
CREATE TABLE row_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    message TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);

CREATE TABLE state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
