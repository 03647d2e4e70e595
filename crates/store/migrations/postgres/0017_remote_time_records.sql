-- Remote mode: the 出勤 (1) and 退勤 (2) the remote attendance service holds that ログイン記録 did
-- not send (its own time recorder, a person's correction), read with
-- GET /daily-workings/timerecord: the declared side of 乖離, as 手入力 and the API's records are
-- in the embedded module. Each read replaces its period.
CREATE TABLE remote_time_records (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    employee_id BIGINT NOT NULL REFERENCES employees(id),
    date TEXT NOT NULL,
    code BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX remote_time_records_by_date ON remote_time_records (company_id, date);
