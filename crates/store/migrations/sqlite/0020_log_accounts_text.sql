-- ログ表示's サービスアカウント filter is a partial match ("suzuki" finds CORP\suzuki0002): it read
-- every account a company's logs came with, 100 000 of them in a large company, for each page. A
-- trigram index finds the accounts that contain what was typed (three characters or more); the
-- filter's own comparison still decides among them.
CREATE VIRTUAL TABLE log_accounts_text USING fts5(
    user_name, account, content = 'log_accounts', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO log_accounts_text (log_accounts_text) VALUES ('rebuild');
CREATE TRIGGER log_accounts_text_insert AFTER INSERT ON log_accounts BEGIN
    INSERT INTO log_accounts_text (rowid, user_name, account) VALUES (new.rowid, new.user_name, new.account);
END;
CREATE TRIGGER log_accounts_text_delete AFTER DELETE ON log_accounts BEGIN
    INSERT INTO log_accounts_text (log_accounts_text, rowid, user_name, account)
        VALUES ('delete', old.rowid, old.user_name, old.account);
END;
CREATE TRIGGER log_accounts_text_update AFTER UPDATE ON log_accounts BEGIN
    INSERT INTO log_accounts_text (log_accounts_text, rowid, user_name, account)
        VALUES ('delete', old.rowid, old.user_name, old.account);
    INSERT INTO log_accounts_text (rowid, user_name, account) VALUES (new.rowid, new.user_name, new.account);
END;
