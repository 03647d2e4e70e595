-- A log's id only orders the logs of one instant in ログ表示 (its cursor's tie-break, compared
-- among the few logs of that instant); no statement looks a log up by it. Its unique index was
-- one more entry written for every log of a 100 000-employee morning.
ALTER TABLE logs DROP CONSTRAINT logs_pkey;
