-- Rows waiting for the server, kept a piece of a file at a time (see outbox/piece.rs): a table
-- row and index entries per log row made writing them most of the time spent reading a large
-- file. A row's id is its piece's id and its place in the piece. Rows still waiting in the
-- per-row table of earlier versions are moved here when the outbox is opened (outbox/legacy.rs),
-- which then drops that table.
CREATE TABLE pieces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_file TEXT,
    first_event_at_ms INTEGER NOT NULL,
    last_event_at_ms INTEGER NOT NULL,
    -- Rows of the piece still counted as waiting or answered: the encoded ones less those left out.
    rows INTEGER NOT NULL,
    payload BLOB NOT NULL,
    -- Places of rows read while an earlier copy of them was waiting: they are not sent.
    left_out BLOB,
    enqueued_at_ms INTEGER NOT NULL
);

-- The key of every row still waiting, by event time first as rows come in time order: a row
-- read again from a rewritten or copied file is not queued twice.
CREATE TABLE waiting_keys (
    event_at_ms INTEGER NOT NULL,
    key BLOB NOT NULL,
    row_id INTEGER NOT NULL,
    PRIMARY KEY (event_at_ms, key)
) WITHOUT ROWID;

-- Rows the server answered for while other rows of their piece still wait.
CREATE TABLE settled_rows (
    id INTEGER PRIMARY KEY
);
