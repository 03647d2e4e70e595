//! Validation of what administrators type: company codes, access tokens, employee codes.
//! Messages name the field in the user's terms.

use std::fmt;

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error("企業コードは英数字 3 文字または 6 文字です (company code must be 3 or 6 letters/digits): {0:?}")]
    CompanyCode(String),
    #[error(
        "アクセストークンは英数字 32 文字です (access token must be exactly 32 letters/digits; got {0} characters)"
    )]
    AccessToken(usize),
    /// A character that is not a letter or digit, at its place (1-based, in characters).
    #[error(
        "アクセストークンの {position} 文字目「{character}」は使えません。英数字のみです (the token's character {position} '{character}' is not allowed: letters and digits only)"
    )]
    AccessTokenCharacter { position: usize, character: String },
    #[error("従業員コードが不正です (invalid employee code): {0:?}")]
    EmployeeCode(String),
    #[error("日付変更時間は HH:MM (00:00〜23:59) で指定してください (day change time must be HH:MM): {0:?}")]
    DayChangeTime(String),
    #[error("サービスアカウント {0:?} は使えません。{max} 文字以内で、タブや改行を含まないものにしてください", max = ServiceAccount::MAX_CHARS)]
    ServiceAccount(String),
    #[error("サービスアカウント {0:?} にドメイン名が含まれています。「\\」の後ろのユーザー名だけを入力してください")]
    ServiceAccountDomain(String),
}

/// 企業コード: the first 3 or 6 characters of a login ID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyCode(String);

impl CompanyCode {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let ok = matches!(s.len(), 3 | 6) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok { Ok(CompanyCode(s.to_string())) } else { Err(ValidationError::CompanyCode(s.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CompanyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// アクセストークン: 32 letters/digits. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        // The wrong character is named first: a token with dashes or a pasted space is most
        // likely the wrong text, whatever its length.
        if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_alphanumeric()) {
            return Err(ValidationError::AccessTokenCharacter {
                position: i + 1,
                character: c.escape_debug().to_string(),
            });
        }
        let ok = s.len() == 32;
        if ok { Ok(AccessToken(s.to_string())) } else { Err(ValidationError::AccessToken(s.chars().count())) }
    }

    /// The token itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `abcd************************wxyz`: enough to recognise, not enough to use.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(24), &self.0[28..])
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// 従業員コード (打刻先アカウント): a string, never a number — `0012` stays `0012`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmployeeCode(String);

impl EmployeeCode {
    pub const MAX_LEN: usize = 30;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let ok = !s.is_empty()
            && s.chars().count() <= Self::MAX_LEN
            && s.chars().all(|c| !c.is_control() && !c.is_whitespace());
        if ok { Ok(EmployeeCode(s.to_string())) } else { Err(ValidationError::EmployeeCode(s.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmployeeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// サービスアカウント: the LanScope user name, without its domain, that an employee's logs carry.
/// Every link is written through [`ServiceAccount::parse`], whichever screen or command it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceAccount(String);

impl ServiceAccount {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(ValidationError::ServiceAccount(s.chars().take(64).collect()));
        }
        if s.contains(crate::log_event::DOMAIN_SEPARATORS) {
            return Err(ValidationError::ServiceAccountDomain(s.to_string()));
        }
        Ok(ServiceAccount(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a LanScope user name is Windows' own account, which services run under: `SYSTEM`
/// alone or in its own domain (`NT AUTHORITY\SYSTEM`, with any of the domain separators). A
/// user called `system` in a company's domain (`CORP\system`) is a person.
pub fn is_system_user(user_name: &str) -> bool {
    // Checked for every row of every LanScope file: most names are ruled out by their end.
    let bytes = user_name.as_bytes();
    if bytes.len() < 6 || !bytes[bytes.len() - 6..].eq_ignore_ascii_case(b"SYSTEM") {
        return false;
    }
    let account = crate::bare_account(user_name);
    let domain = user_name[..user_name.len() - account.len()].trim_end_matches(crate::log_event::DOMAIN_SEPARATORS);
    account.eq_ignore_ascii_case("SYSTEM") && (domain.is_empty() || domain.eq_ignore_ascii_case("NT AUTHORITY"))
}

/// When `typed` is unknown but equals a known code with its leading zeros removed, the
/// file was most likely saved by Excel; returns that known code so the error can say so.
pub fn excel_stripped_zeros<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if typed.is_empty() || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    known
        .into_iter()
        .find(|k| k.len() > typed.len() && k.ends_with(typed) && k[..k.len() - typed.len()].bytes().all(|b| b == b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_is_a_bare_user_name_of_a_person() {
        assert_eq!(ServiceAccount::parse("tarouk").unwrap().as_str(), "tarouk");
        for bad in ["", "a\tb", "a\rb", "a\nb"] {
            assert_eq!(ServiceAccount::parse(bad), Err(ValidationError::ServiceAccount(bad.into())));
        }
        let long = "x".repeat(500_000);
        assert!(ServiceAccount::parse(&long).unwrap_err().to_string().contains("256 文字以内"));
        for domain in ["CORP\\tarou", "CORP¥tarou", "CORP＼tarou"] {
            assert_eq!(ServiceAccount::parse(domain), Err(ValidationError::ServiceAccountDomain(domain.into())));
        }
        assert!(
            is_system_user("NT AUTHORITY\\SYSTEM") && is_system_user("nt authority¥system") && is_system_user("SYSTEM")
        );
        assert!(!is_system_user("CORP\\system") && !is_system_user("CORP\\tarou"));
    }

    #[test]
    fn company_codes_are_three_or_six_letters_or_digits() {
        for ok in ["ABC", "a1b", "ABC123", "000000"] {
            assert!(CompanyCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "AB", "ABCD", "ABCDE", "ABCDEFG", "AB-", "ＡＢＣ", "AB C"] {
            assert!(CompanyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_are_exactly_32_letters_or_digits_and_never_printed() {
        let t = AccessToken::parse("abcdEFGH0123456789abcdEFGH012345").unwrap();
        assert_eq!(format!("{t:?}"), "AccessToken(***)");
        assert_eq!(t.to_string(), "***");
        assert_eq!(t.masked(), "abcd************************2345");
        assert!(AccessToken::parse("abcdEFGH0123456789abcdEFGH01234").is_err());
        assert!(AccessToken::parse("abcdEFGH0123456789abcdEFGH0123456").is_err());
        assert!(AccessToken::parse("abcdEFGH0123456789abcdEFGH01234-").is_err());
        let short = AccessToken::parse("abcdEFGH0123456789abcdEFGH01234").unwrap_err().to_string();
        assert!(short.contains("got 31 characters"), "{short}");
        let dash = AccessToken::parse("abcdEFGH-123456789abcdEFGH012345").unwrap_err().to_string();
        assert!(dash.contains("9 文字目「-」") && dash.contains("character 9 '-'"), "{dash}");
        assert!(!dash.contains("got 32"), "{dash}");
        let tab = AccessToken::parse("abcd\tFGH0123456789abcdEFGH012345").unwrap_err().to_string();
        assert!(tab.contains("5 文字目「\\t」"), "a control character is shown escaped: {tab}");
    }

    #[test]
    fn employee_codes_keep_their_leading_zeros() {
        assert_eq!(EmployeeCode::parse("0012").unwrap().as_str(), "0012");
        assert!(EmployeeCode::parse("").is_err());
        assert!(EmployeeCode::parse("12 3").is_err());
    }

    #[test]
    fn codes_that_lost_their_leading_zeros_are_recognised() {
        let known = ["0012", "1000", "0100"];
        assert_eq!(excel_stripped_zeros("12", known), Some("0012"));
        assert_eq!(excel_stripped_zeros("100", known), Some("0100"));
        assert_eq!(excel_stripped_zeros("1000", known), None);
        assert_eq!(excel_stripped_zeros("13", known), None);
        assert_eq!(excel_stripped_zeros("x2", known), None);
    }
}
