-- `CORP¥tarou` and `CORP＼tarou` name the user `tarou`, as `CORP\tarou` always did: the account of
-- logs stored before is cut after the last of the three separators. Their days are derived
-- again by `loginrec punches rebuild`.
UPDATE logs SET account = regexp_replace(user_name, '^.*[\\¥＼]', '')
WHERE user_name LIKE '%¥%' OR user_name LIKE '%＼%';
