-- ログ表示's サービスアカウント filter is a partial match ("suzuki" finds CORP\suzuki0002): it read
-- every account a company's logs came with, 100 000 of them in a large company, for each page.
-- Trigram indexes (pg_trgm, shipped with PostgreSQL) answer `lower(…) LIKE '%…%'` for three
-- characters or more. A server where the extension cannot be created keeps working as before,
-- reading every account.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): the account filter reads every account', SQLERRM;
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX log_accounts_user_name_text ON log_accounts USING gin (lower(user_name) gin_trgm_ops);
        CREATE INDEX log_accounts_account_text ON log_accounts USING gin (lower(account) gin_trgm_ops);
    END IF;
END
$$;
