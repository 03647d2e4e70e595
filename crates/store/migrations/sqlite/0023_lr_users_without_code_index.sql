-- No statement looks ログイン記録's users up by 打刻先アカウント: the 連携設定 table reads a company's
-- users whole and sorts them itself. The index only cost every write of a user, and a 連携設定
-- import rewrites each of the company's users.
DROP INDEX lr_users_by_code;
