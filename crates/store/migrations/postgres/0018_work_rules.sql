-- The company's choices 月別データ and its alerts depend on: the 法定休日 (a weekday, 0 = Sunday
-- … 6 = Saturday), whose work is 休日労働, and the month its 36協定 year starts in.
ALTER TABLE companies ADD COLUMN legal_day_off BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN agreement_year_start_month BIGINT NOT NULL DEFAULT 4;
