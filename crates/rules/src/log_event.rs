//! LanScope log kinds and the deterministic idempotency key every row carries.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// 操作: LanScope's 使用開始 / 使用終了 become ログオン / ログオフ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// ログオン (LanScope ログ種類 1, 開始)
    Logon,
    /// ログオフ (LanScope ログ種類 2, 終了)
    Logoff,
}

impl LogKind {
    /// LanScope's `ログ種類`: 1 = 開始, 2 = 終了; anything else is not a PC start/end.
    pub fn from_lanscope_type(value: &str) -> Option<LogKind> {
        match value.trim() {
            "1" => Some(LogKind::Logon),
            "2" => Some(LogKind::Logoff),
            _ => None,
        }
    }

    pub fn lanscope_type(self) -> u8 {
        match self {
            LogKind::Logon => 1,
            LogKind::Logoff => 2,
        }
    }

    /// The word ログ表示 shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            LogKind::Logon => "ログオン",
            LogKind::Logoff => "ログオフ",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Logon => "logon",
            LogKind::Logoff => "logoff",
        }
    }

    pub fn parse(s: &str) -> Option<LogKind> {
        match s {
            "logon" => Some(LogKind::Logon),
            "logoff" => Some(LogKind::Logoff),
            _ => None,
        }
    }
}

/// What separates a domain from the user in `CORP\tarou`: the backslash, and the two characters
/// it becomes on Japanese systems (`¥`, where a code page shows 0x5C as the yen sign, and the
/// full-width `＼`).
pub const DOMAIN_SEPARATORS: [char; 3] = ['\\', '¥', '＼'];

/// The part of a LanScope user name that matches a サービスアカウント: `CORP\tarou` → `tarou`
/// (also `CORP¥tarou` and `CORP＼tarou`). Case is kept: the manual says matching is exact, case
/// included.
pub fn bare_account(user_name: &str) -> &str {
    user_name.rsplit(DOMAIN_SEPARATORS).next().unwrap_or(user_name)
}

/// The idempotency key of one LanScope event: the same event read from any file, any
/// number of times, always gets the same key, so storing it twice is impossible.
///
/// 32 lowercase hex characters (the first 128 bits of a SHA-256 over the fields).
pub fn idempotency_key(
    company_code: &str,
    user_name: &str,
    kind: LogKind,
    event_at_ms: i64,
    sub_manager_no: Option<&str>,
    agent_no: Option<&str>,
) -> String {
    hex::encode(idempotency_key_bytes(company_code, user_name, kind, event_at_ms, sub_manager_no, agent_no))
}

/// The 16 bytes [`idempotency_key`] writes in hex: what the connector's outbox keeps.
pub fn idempotency_key_bytes(
    company_code: &str,
    user_name: &str,
    kind: LogKind,
    event_at_ms: i64,
    sub_manager_no: Option<&str>,
    agent_no: Option<&str>,
) -> [u8; 16] {
    let mut hasher = Sha256::new();
    // A unit separator cannot occur in a CSV field that survived decoding as text we
    // accept, so the concatenation is unambiguous.
    for part in [
        company_code,
        user_name,
        kind.as_str(),
        &event_at_ms.to_string(),
        sub_manager_no.unwrap_or(""),
        agent_no.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(&hasher.finalize()[..16]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_user_matches_by_the_name_after_the_backslash() {
        assert_eq!(bare_account("CORP\\tarouk"), "tarouk");
        assert_eq!(bare_account("tarouk"), "tarouk");
        assert_eq!(bare_account("TarouK"), "TarouK");
        assert_eq!(bare_account("CORP¥tarouk"), "tarouk");
        assert_eq!(bare_account("CORP＼tarouk"), "tarouk");
        assert_eq!(bare_account("NT AUTHORITY\\SYSTEM"), "SYSTEM");
    }

    #[test]
    fn the_key_depends_on_every_field_and_nothing_else() {
        let base = idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_000, Some("1"), Some("7"));
        assert_eq!(base.len(), 32);
        assert_eq!(base, idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_000, Some("1"), Some("7")));
        let others = [
            idempotency_key("ABD", "tarou", LogKind::Logon, 1_700_000_000_000, Some("1"), Some("7")),
            idempotency_key("ABC", "Tarou", LogKind::Logon, 1_700_000_000_000, Some("1"), Some("7")),
            idempotency_key("ABC", "tarou", LogKind::Logoff, 1_700_000_000_000, Some("1"), Some("7")),
            idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_001, Some("1"), Some("7")),
            idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_000, Some("2"), Some("7")),
            idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_000, Some("1"), Some("8")),
            idempotency_key("ABC", "tarou", LogKind::Logon, 1_700_000_000_000, Some("17"), None),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }
}
