-- 連携設定 imports update users by 打刻先アカウント; without this each one scanned the table.
CREATE INDEX lr_users_by_code ON lr_users (company_id, employee_code);
