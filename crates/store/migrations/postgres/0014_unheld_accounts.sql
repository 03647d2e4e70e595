-- The accounts ログ表示's 未連携 filter can match: seen in a company's logs and not held by one
-- employee for all time. Kept with each ingest and each change of link history, so that the
-- filter finds them by index instead of looking at every account the company's logs came with.
CREATE TABLE unheld_accounts (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    account TEXT NOT NULL,
    PRIMARY KEY (company_id, account)
);
-- A change of link history looks up the accounts it changed among those seen in logs.
CREATE INDEX log_accounts_by_account ON log_accounts (company_id, account);
INSERT INTO unheld_accounts (company_id, account)
    SELECT DISTINCT la.company_id, la.account FROM log_accounts la
    WHERE NOT EXISTS (SELECT 1 FROM link_history h WHERE h.company_id = la.company_id AND h.account = la.account
                      AND h.from_ms IS NULL AND h.to_ms IS NULL);
