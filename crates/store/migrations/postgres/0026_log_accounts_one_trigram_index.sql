-- ログ表示's サービスアカウント filter compares the typed text with the user name only: an account
-- is the end of its user name, so a text found in the account is found in the user name. The
-- account's trigram index is no longer read; on a company's first morning every user name is
-- new, and each was written into both indexes.
DROP INDEX IF EXISTS log_accounts_account_text;
