-- Who sent the logs: each connector (version and host) is stored once per company, and every log
-- refers to it. Storing them on every row let one batch with a 20 KB version grow the database
-- by tens of megabytes.
CREATE TABLE connectors (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    version TEXT NOT NULL,
    host TEXT NOT NULL,
    UNIQUE (company_id, version, host)
);
INSERT INTO connectors (company_id, version, host)
    SELECT DISTINCT company_id, connector_version, connector_host FROM logs;
ALTER TABLE logs ADD COLUMN connector_id INTEGER REFERENCES connectors(id);
UPDATE logs SET connector_id = (
    SELECT c.id FROM connectors c
    WHERE c.company_id = logs.company_id AND c.version = logs.connector_version AND c.host = logs.connector_host
);
ALTER TABLE logs DROP COLUMN connector_version;
ALTER TABLE logs DROP COLUMN connector_host;
