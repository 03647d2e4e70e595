-- 乖離: minutes of PC use before a declared 出勤 or after a declared 退勤 past which a day is
-- flagged for the administrator to look into.
ALTER TABLE companies ADD COLUMN divergence_threshold_minutes INTEGER NOT NULL DEFAULT 30;

-- The reasons a company's administrators pick from when they record why a day diverges, in
-- the order shown; a company without any is offered the defaults.
CREATE TABLE divergence_reason_choices (
    company_id INTEGER NOT NULL REFERENCES companies(id),
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (company_id, position)
);

-- The record of the investigation: every reason recorded for a flagged day, with who recorded
-- it and when. Never changed; the latest is the day's reason.
CREATE TABLE divergence_reasons (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    business_date TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL
);
CREATE INDEX divergence_reasons_by_date ON divergence_reasons (company_id, business_date);
