-- `CORP¥tarou` and `CORP＼tarou` name the user `tarou`, as `CORP\tarou` always did: the account of
-- logs stored before is cut after the last of the three separators. Their days are derived
-- again by `loginrec punches rebuild`.
UPDATE logs SET account = substr(
    replace(replace(user_name, '¥', '\'), '＼', '\'),
    length(rtrim(
        replace(replace(user_name, '¥', '\'), '＼', '\'),
        replace(replace(replace(user_name, '¥', '\'), '＼', '\'), '\', '')
    )) + 1
)
WHERE user_name LIKE '%¥%' OR user_name LIKE '%＼%';
