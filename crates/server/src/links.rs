//! The 連携設定 CSV (seed §3.1): export and import of サービスアカウント links.
//!
//! Pure: bytes and the current links in, bytes or a decision out. The same logic serves the
//! web UI's [CSV データ保存] / [CSV データ入力] and `loginrec link export / import`.
//!
//! Import rules: only the rows present are updated; the whole import is refused, with line
//! numbers, when any row is invalid; codes are strings (`0012` stays `0012`), and a code that
//! looks like Excel removed its leading zeros is explained as such.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use loginrec_rules::validation::{ServiceAccount, excel_stripped_zeros};
use loginrec_store::LinkRow;

use crate::csv_cell::{neutralise_formula, restore_formula};

pub const HEADER: [&str; 5] = ["連携種別", "種別コード", "打刻先アカウント", "姓・名", "サービスアカウント"];
pub const LINK_TYPE: &str = "LanScope連携";
pub const LINK_TYPE_CODE: &str = "2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvEncoding {
    /// Windows-31J, what メモ帳 and Excel on Japanese Windows expect.
    Cp932,
    /// UTF-8 with a byte-order mark, so that Excel recognises it.
    Utf8Bom,
}

/// A problem with one line of an import, or with the file as a whole (line 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 { f.write_str(&self.message) } else { write!(f, "{}行目: {}", self.line, self.message) }
    }
}

/// Quotes every cell but the first as the real product does, and neutralises cells that a
/// spreadsheet would run as a formula.
pub fn export(rows: &[LinkRow], encoding: CsvEncoding) -> Result<Vec<u8>, LineError> {
    let mut text = String::from("連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n");
    for row in rows {
        text.push_str(LINK_TYPE);
        for cell in [LINK_TYPE_CODE, &row.employee_code, &row.full_name, row.service_account.as_deref().unwrap_or("")] {
            text.push_str(",\"");
            text.push_str(&neutralise_formula(cell).replace('"', "\"\""));
            text.push('"');
        }
        text.push_str("\r\n");
    }
    match encoding {
        CsvEncoding::Utf8Bom => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            out.extend_from_slice(text.as_bytes());
            Ok(out)
        }
        CsvEncoding::Cp932 => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            if unmappable {
                let bad = rows
                    .iter()
                    .find(|r| {
                        encoding_rs::SHIFT_JIS
                            .encode(&format!("{}{}", r.full_name, r.service_account.as_deref().unwrap_or("")))
                            .2
                    })
                    .map(|r| r.employee_code.clone())
                    .unwrap_or_default();
                return Err(LineError {
                    line: 0,
                    message: format!(
                        "打刻先アカウント {bad:?} の名前に Shift_JIS (CP932) で表せない文字があります。UTF-8 で保存してください"
                    ),
                });
            }
            Ok(bytes.into_owned())
        }
    }
}

/// One row of an import that can be saved: its line, the 打刻先アカウント, the 姓・名 the file
/// gives and the サービスアカウント before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedLink {
    pub line: u64,
    pub employee_code: String,
    /// The employee's 姓・名 as 従業員設定 has it, and as the file has it.
    pub full_name: String,
    pub name_in_file: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl PlannedLink {
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// Something in an import that can be saved but is probably not what was meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineWarning {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for LineWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}行目: {}", self.line, self.message)
    }
}

/// What an import would do: every row of the file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPlan {
    pub rows: Vec<PlannedLink>,
}

impl ImportPlan {
    /// The links to write, as the store takes them: every row of the file (unchanged ones
    /// count as updated, as the real product counts them).
    pub fn links(&self) -> Vec<(String, Option<String>)> {
        self.rows.iter().map(|r| (r.employee_code.clone(), r.after.clone())).collect()
    }

    /// Rows that are saved but look wrong: a 姓・名 that is not the employee's (the wrong
    /// 打刻先アカウント?), a サービスアカウント with full-width letters or a space (LanScope
    /// user names are half-width and never match such an account).
    pub fn warnings(&self) -> Vec<LineWarning> {
        let mut out = Vec::new();
        for row in &self.rows {
            let warn = |message: String| LineWarning { line: row.line, message };
            if !row.name_in_file.is_empty() && same_name(&row.name_in_file, &row.full_name) == Some(false) {
                out.push(warn(format!(
                    "姓・名「{}」が打刻先アカウント {} の従業員 (「{}」) と異なります。打刻先アカウントが正しいか確認してください",
                    row.name_in_file, row.employee_code, row.full_name
                )));
            }
            let Some(account) = &row.after else { continue };
            if account.chars().any(is_full_width_letter) {
                out.push(warn(format!(
                    "サービスアカウント「{account}」に全角の英数字があります。LanScope のユーザー名は半角なので、このままでは打刻されません"
                )));
            }
            if account.chars().any(|c| c == ' ' || c == '\u{3000}') {
                out.push(warn(format!(
                    "サービスアカウント「{account}」に空白があります。LanScope のユーザー名と一致するか確認してください"
                )));
            }
        }
        out
    }
}

/// Whether two 姓・名 are the same name, spaces (half- or full-width, any number) aside.
/// `None` when either is only spaces.
fn same_name(a: &str, b: &str) -> Option<bool> {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let (a, b) = (squeeze(a), squeeze(b));
    (!a.is_empty() && !b.is_empty()).then_some(a == b)
}

/// Full-width Latin letters and digits (`ａ`, `Ｚ`, `０`), which look like an account name
/// but never equal one.
fn is_full_width_letter(c: char) -> bool {
    matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ')
}

/// Reads an import and decides the link changes, or every reason to refuse it.
/// `current` is the 連携設定 table as it stands.
pub fn plan_import(bytes: &[u8], current: &[LinkRow]) -> Result<Vec<(String, Option<String>)>, Vec<LineError>> {
    read_import(bytes, current).map(|plan| plan.links())
}

/// Reads an import into what it would change, row by row, or every reason to refuse it.
pub fn read_import(bytes: &[u8], current: &[LinkRow]) -> Result<ImportPlan, Vec<LineError>> {
    let file_error = |message: String| vec![LineError { line: 0, message }];
    let (text, _) = lanscope_csv::decode(bytes)
        .map_err(|_| file_error("文字コードを判別できません。Shift_JIS (CP932) か UTF-8 で保存してください".into()))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(format!("CSV を読めません: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut column = BTreeMap::new();
    for name in HEADER {
        match headers.iter().position(|h| h == name) {
            Some(i) => {
                column.insert(name, i);
            }
            None => return Err(file_error(format!("列「{name}」がありません (見出し行: {})", headers.join(",")))),
        }
    }
    let known: BTreeMap<&str, &LinkRow> = current.iter().map(|r| (r.employee_code.as_str(), r)).collect();
    let mut errors = Vec::new();
    let mut plan: Vec<(String, Option<String>, u64, String)> = Vec::new();
    let mut lines = lanscope_csv::LineCounter::new(&text);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| lines.line_of_record_at(p.byte())).unwrap_or(0);
                errors.push(LineError { line, message: format!("CSV を読めません: {e}") });
                continue;
            }
        };
        let line = record.position().map(|p| lines.line_of_record_at(p.byte())).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| restore_formula(record.get(column[name]).unwrap_or("").trim()).to_string();
        let (link_type, type_code, code, name, account) = (
            cell("連携種別"),
            cell("種別コード"),
            cell("打刻先アカウント"),
            cell("姓・名"),
            cell("サービスアカウント"),
        );
        let mut err = |message: String| errors.push(LineError { line, message });
        if link_type != LINK_TYPE {
            err(format!("連携種別は「{LINK_TYPE}」です (値: {link_type:?})"));
            continue;
        }
        if type_code != LINK_TYPE_CODE {
            err(format!("種別コードは「{LINK_TYPE_CODE}」です (値: {type_code:?})"));
            continue;
        }
        if !known.contains_key(code.as_str()) {
            match excel_stripped_zeros(&code, known.keys().copied()) {
                Some(original) => err(format!(
                    "打刻先アカウント {code:?} は存在しません。{original:?} の先頭の 0 が Excel で消えた可能性があります。メモ帳などで編集してください"
                )),
                None => err(format!("打刻先アカウント {code:?} は存在しません")),
            }
            continue;
        }
        if !account.is_empty()
            && let Err(e) = ServiceAccount::parse(&account)
        {
            err(e.to_string());
            continue;
        }
        plan.push((code, (!account.is_empty()).then_some(account), line, name));
    }
    // Every サービスアカウント belongs to one user, counting the users this file leaves alone.
    let listed: BTreeSet<&str> = plan.iter().map(|(c, _, _, _)| c.as_str()).collect();
    let held_by: BTreeMap<&str, &str> =
        current.iter().filter_map(|r| r.service_account.as_deref().map(|a| (a, r.employee_code.as_str()))).collect();
    let mut holders: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    let mut seen_codes: BTreeMap<&str, u64> = BTreeMap::new();
    for (code, account, line, _) in &plan {
        if let Some(first) = seen_codes.insert(code, *line) {
            errors.push(LineError {
                line: *line,
                message: format!("打刻先アカウント {code:?} が {first}行目と重複しています"),
            });
        }
        let Some(account) = account else { continue };
        if let Some((first, _)) = holders.insert(account, (*line, code)) {
            errors.push(LineError {
                line: *line,
                message: format!("サービスアカウント {account:?} が {first}行目と重複しています"),
            });
        }
        if let Some(other) = held_by.get(account.as_str()).filter(|code| !listed.contains(*code)) {
            errors.push(LineError {
                line: *line,
                message: format!("サービスアカウント {account:?} は打刻先アカウント {other:?} に設定済みです"),
            });
        }
    }
    if errors.is_empty() {
        let rows = plan
            .into_iter()
            .map(|(code, after, line, name_in_file)| {
                let now = known.get(code.as_str());
                PlannedLink {
                    line,
                    full_name: now.map(|r| r.full_name.clone()).unwrap_or_default(),
                    before: now.and_then(|r| r.service_account.clone()),
                    employee_code: code,
                    name_in_file,
                    after,
                }
            })
            .collect();
        Ok(ImportPlan { rows })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// The message of a successful import.
pub fn updated_message(count: usize) -> String {
    format!("{count}件のアカウントを更新")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: &str, name: &str, account: Option<&str>) -> LinkRow {
        LinkRow { employee_code: code.into(), full_name: name.into(), service_account: account.map(Into::into) }
    }

    fn current() -> Vec<LinkRow> {
        vec![row("0012", "勤怠 太郎", None), row("1000", "勤怠 花子", Some("hanakok")), row("3000", "髙橋 一郎", None)]
    }

    #[test]
    fn the_export_looks_like_the_manuals_and_is_cp932() {
        let bytes = export(&current(), CsvEncoding::Cp932).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント");
        assert_eq!(lines[1], "LanScope連携,\"2\",\"0012\",\"勤怠 太郎\",\"\"");
        assert_eq!(lines[2], "LanScope連携,\"2\",\"1000\",\"勤怠 花子\",\"hanakok\"");
        assert_eq!(lines[3], "LanScope連携,\"2\",\"3000\",\"髙橋 一郎\",\"\"");
    }

    #[test]
    fn an_import_says_each_rows_before_and_after_and_warns_of_likely_mistakes() {
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n\
                    LanScope連携,\"2\",\"0012\",\"勤怠\u{3000}太郎\",\"ｔａｒｏｕ\"\r\n\
                    LanScope連携,\"2\",\"1000\",\"勤怠 太郎\",\"hanakok\"\r\n\
                    LanScope連携,\"2\",\"3000\",\"\",\"taka hashi\"\r\n";
        let plan = read_import(text.as_bytes(), &current()).unwrap();
        let rows: Vec<(u64, &str, Option<&str>, Option<&str>, bool)> = plan
            .rows
            .iter()
            .map(|r| (r.line, r.employee_code.as_str(), r.before.as_deref(), r.after.as_deref(), r.changes()))
            .collect();
        assert_eq!(
            rows,
            [
                (2, "0012", None, Some("ｔａｒｏｕ"), true),
                (3, "1000", Some("hanakok"), Some("hanakok"), false),
                (4, "3000", None, Some("taka hashi"), true),
            ]
        );
        let warnings: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("2行目: サービスアカウント「ｔａｒｏｕ」に全角の英数字"), "{warnings:?}");
        assert!(
            warnings[1]
                .starts_with("3行目: 姓・名「勤怠 太郎」が打刻先アカウント 1000 の従業員 (「勤怠 花子」) と異なります"),
            "a full-width space alone is no difference, another name is: {warnings:?}"
        );
        assert!(warnings[2].starts_with("4行目: サービスアカウント「taka hashi」に空白"), "{warnings:?}");
    }

    #[test]
    fn the_utf8_export_starts_with_a_bom() {
        let bytes = export(&current(), CsvEncoding::Utf8Bom).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    }

    #[test]
    fn cells_that_would_run_as_formulas_are_neutralised_and_read_back_intact() {
        let rows = vec![row("0012", "=HYPERLINK(\"x\")", Some("@evil"))];
        let bytes = export(&rows, CsvEncoding::Utf8Bom).unwrap();
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
        assert!(text.contains("\"'@evil\""));
        let plan = plan_import(text.as_bytes(), &[row("0012", "x", None)]).unwrap();
        assert_eq!(plan, vec![("0012".to_string(), Some("@evil".to_string()))]);
    }

    #[test]
    fn an_edited_export_imports_only_the_rows_present() {
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\nLanScope連携,\"2\",\"0012\",\"勤怠 太郎\",\"tarouk\"\r\n";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert_eq!(plan_import(&bytes, &current()).unwrap(), vec![("0012".to_string(), Some("tarouk".to_string()))]);
    }

    #[test]
    fn a_code_without_its_leading_zeros_is_explained_as_excel_damage() {
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\nLanScope連携,2,0012,勤怠 太郎,x\r\nLanScope連携,2,12,勤怠 太郎,tarouk\r\n";
        let errors = plan_import(text.as_bytes(), &current()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3, "CRLF files count lines like a text editor");
        assert!(errors[0].message.contains("Excel"), "{}", errors[0]);
        assert!(errors[0].message.contains("0012"));
    }

    #[test]
    fn one_bad_row_refuses_the_whole_import_and_every_problem_is_listed() {
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\n\
                    LanScope連携,2,0012,a,tarouk\n\
                    LanScope連携,3,1000,b,x\n\
                    LanScope連携,2,9999,c,y\n\
                    LanScope連携,2,3000,d,tarouk\n\
                    LanScope連携,2,3000,d,CORP\\z\n";
        let errors = plan_import(text.as_bytes(), &current()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{errors:?}");
        assert!(errors[0].message.contains("種別コード"));
        assert!(errors[1].message.contains("存在しません"));
        assert!(errors[2].message.contains("重複"));
        assert!(errors[3].message.contains("ドメイン"));
    }

    #[test]
    fn an_account_held_by_a_user_not_in_the_file_is_refused() {
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\nLanScope連携,2,0012,a,hanakok\n";
        let errors = plan_import(text.as_bytes(), &current()).unwrap_err();
        assert!(errors[0].message.contains("1000"), "{errors:?}");
    }

    #[test]
    fn two_users_can_swap_accounts_in_one_file() {
        let cur = vec![row("0012", "a", Some("x")), row("1000", "b", Some("y"))];
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\nLanScope連携,2,0012,a,y\nLanScope連携,2,1000,b,x\n";
        assert_eq!(plan_import(text.as_bytes(), &cur).unwrap().len(), 2);
    }

    #[test]
    fn a_file_without_the_columns_is_refused_naming_the_missing_one() {
        let errors = plan_import("従業員コード,姓,名\n1,a,b\n".as_bytes(), &current()).unwrap_err();
        assert!(errors[0].message.contains("連携種別"));
    }
}
