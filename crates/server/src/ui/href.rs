//! Links between the screens: every value that goes into a URL is encoded here.

use jiff::civil::Date;

/// Percent-encodes everything but unreserved characters, for one path segment.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One value of a query string (`?account=CORP%5Csuzuki`).
pub(crate) fn query_value(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|v| v.trim_start_matches('=').to_string()).unwrap_or_default()
}

/// The time card of an employee for the month of `date`.
pub(crate) fn timecard(company_code: &str, employee_code: &str, date: Date) -> String {
    format!(
        "/companies/{}/timecard/{}?month={}",
        path_segment(company_code),
        path_segment(employee_code),
        date.strftime("%Y-%m")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_codes_intact() {
        assert_eq!(path_segment("0012"), "0012");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(path_segment("髙"), "%E9%AB%99");
    }

    #[test]
    fn query_values_survive_backslashes_and_ampersands() {
        assert_eq!(query_value("CORP\\suzuki"), "CORP%5Csuzuki");
        assert_eq!(query_value("a&b=c"), "a%26b%3Dc");
    }
}
