-- Each LanScope user name a company's logs came with, and its bare サービスアカウント: ログ表示's
-- サービスアカウント and 未連携 filters find the few accounts they can match here, then read only
-- those accounts' logs instead of every log of the company.
CREATE TABLE log_accounts (
    company_id INTEGER NOT NULL REFERENCES companies(id),
    user_name TEXT NOT NULL,
    account TEXT NOT NULL,
    PRIMARY KEY (company_id, user_name)
);
INSERT INTO log_accounts (company_id, user_name, account) SELECT DISTINCT company_id, user_name, account FROM logs;
