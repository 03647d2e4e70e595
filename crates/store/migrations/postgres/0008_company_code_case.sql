-- Company codes are one regardless of case: abc123 and ABC123 name the same company.
CREATE UNIQUE INDEX companies_code_folded ON companies (lower(code));
