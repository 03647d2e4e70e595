-- ログイン記録's users are marked removed, not deleted, when their employee is deleted: a
-- restored employee gets its user back with its サービスアカウント. Removed users take no part
-- in 連携設定, link imports or diagnostics; a link import may take their account over.
ALTER TABLE lr_users ADD COLUMN removed_at_ms INTEGER;
