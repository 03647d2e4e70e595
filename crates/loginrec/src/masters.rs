//! Reading the master files operators import into the attendance module: 所属 (departments)
//! and 従業員 (employees). Columns are found by header name; codes stay strings; the whole
//! file is refused, with file, line and field, when any row is wrong.

use std::collections::BTreeSet;
use std::fmt;

use loginrec_rules::{DayChangeTime, EmployeeCode};
use loginrec_store::{DepartmentInput, EmployeeInput};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterError {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for MasterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}: {}", self.file, self.line, self.field, self.message)
        }
    }
}

struct Table {
    file: String,
    headers: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    fn read(file: &str, bytes: &[u8], required: &[&str]) -> Result<Table, Vec<MasterError>> {
        let whole = |message: String| vec![MasterError { file: file.into(), line: 0, field: String::new(), message }];
        let (text, _) = lanscope_csv::decode(bytes).map_err(|e| whole(e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let headers: Vec<String> =
            reader.headers().map_err(|e| whole(e.to_string()))?.iter().map(|h| h.trim().to_string()).collect();
        for name in required {
            if !headers.iter().any(|h| h == name) {
                return Err(whole(format!(
                    "missing column {name} (列「{name}」がありません); header: {}",
                    headers.join(",")
                )));
            }
        }
        let mut rows = Vec::new();
        let mut lines = lanscope_csv::LineCounter::new(&text);
        for record in reader.records() {
            let record = record.map_err(|e| whole(e.to_string()))?;
            let line = lines.line_of_record_at(record.position().map(|p| p.byte()).unwrap_or(0));
            let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            rows.push((line, cells));
        }
        Ok(Table { file: file.into(), headers, rows })
    }

    fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.headers.iter().position(|h| h == name).and_then(|i| row.get(i)).map(String::as_str).unwrap_or("")
    }

    fn error(&self, line: u64, field: &str, message: String) -> MasterError {
        MasterError { file: self.file.clone(), line, field: field.into(), message }
    }
}

/// `所属コード,所属名,日付変更時間` (日付変更時間 may be empty: 00:00).
pub fn parse_departments(file: &str, bytes: &[u8]) -> Result<Vec<DepartmentInput>, Vec<MasterError>> {
    let table = Table::read(file, bytes, &["所属コード", "所属名"])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, row) in &table.rows {
        let code = table.cell(row, "所属コード");
        let name = table.cell(row, "所属名");
        if code.is_empty() {
            errors.push(table.error(*line, "所属コード", "required (必須です)".into()));
            continue;
        }
        if !seen.insert(code.to_string()) {
            errors.push(table.error(*line, "所属コード", format!("{code:?} appears twice (重複しています)")));
            continue;
        }
        if name.is_empty() {
            errors.push(table.error(*line, "所属名", "required (必須です)".into()));
            continue;
        }
        match table.cell(row, "日付変更時間").parse::<DayChangeTime>() {
            Ok(day_change) => out.push(DepartmentInput { code: code.into(), name: name.into(), day_change }),
            Err(e) => errors.push(table.error(*line, "日付変更時間", e.to_string())),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// `従業員コード,姓,名,所属コード`.
pub fn parse_employees(file: &str, bytes: &[u8]) -> Result<Vec<EmployeeInput>, Vec<MasterError>> {
    let table = Table::read(file, bytes, &["従業員コード", "姓", "名", "所属コード"])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, row) in &table.rows {
        let code = table.cell(row, "従業員コード");
        if let Err(e) = EmployeeCode::parse(code) {
            errors.push(table.error(*line, "従業員コード", e.to_string()));
            continue;
        }
        if !seen.insert(code.to_string()) {
            errors.push(table.error(*line, "従業員コード", format!("{code:?} appears twice (重複しています)")));
            continue;
        }
        let (last, first, dept) = (table.cell(row, "姓"), table.cell(row, "名"), table.cell(row, "所属コード"));
        if last.is_empty() {
            errors.push(table.error(*line, "姓", "required (必須です)".into()));
            continue;
        }
        if dept.is_empty() {
            errors.push(table.error(*line, "所属コード", "required (必須です)".into()));
            continue;
        }
        out.push(EmployeeInput {
            code: code.into(),
            last_name: last.into(),
            first_name: first.into(),
            department_code: dept.into(),
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employee_codes_keep_leading_zeros_and_columns_are_found_by_name() {
        let text = "所属コード,名,姓,従業員コード\r\n100,太郎,勤怠,0012\r\n";
        let employees = parse_employees("e.csv", text.as_bytes()).unwrap();
        assert_eq!(employees[0].code, "0012");
        assert_eq!(employees[0].last_name, "勤怠");
        assert_eq!(employees[0].department_code, "100");
    }

    #[test]
    fn a_cp932_department_file_is_read() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("所属コード,所属名,日付変更時間\r\n100,本社,05:00\r\n200,髙田営業所,\r\n");
        let departments = parse_departments("d.csv", &bytes).unwrap();
        assert_eq!(departments[0].day_change, DayChangeTime::LANSCOPE_DEFAULT);
        assert_eq!(departments[1].name, "髙田営業所");
        assert_eq!(departments[1].day_change, DayChangeTime::MIDNIGHT);
    }

    #[test]
    fn bad_rows_are_named_by_file_line_and_field() {
        let text = "所属コード,所属名,日付変更時間\n100,本社,25:00\n100,重複,05:00\n";
        let errors = parse_departments("depts.csv", text.as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].to_string().split(": ").next(), Some("depts.csv:2"));
        assert_eq!(errors[0].field, "日付変更時間");
        assert_eq!(errors[1].line, 3);
    }

    #[test]
    fn a_missing_column_is_named() {
        let errors = parse_employees("e.csv", "従業員コード,姓\n1,a\n".as_bytes()).unwrap_err();
        assert!(errors[0].message.contains("名"), "{}", errors[0]);
    }
}
