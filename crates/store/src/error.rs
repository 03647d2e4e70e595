//! What the data layer fails with, typed: a database that cannot be reached or read, data on
//! disk the product cannot make sense of ([`StoreError::Corrupt`], never the user's fault), and
//! requests the data refuses ([`Missing`], [`Taken`], [`Refusal`]). The words a person reads for
//! a refused request are written here, in Japanese, once: the screens and the CLI show them as
//! they are, the APIs map the variants to their own wire codes.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot create {0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data the product cannot read: a bug or a hand edit, not something a user typed.
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(Missing),
    #[error("{0}")]
    Taken(Taken),
    #[error("{0}")]
    Refused(Refusal),
}

/// Something a request names that does not exist (or no longer).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Missing {
    #[error("企業 {0} は登録されていません。")]
    Company(String),
    #[error("企業 (id {0}) は登録されていません。")]
    CompanyId(i64),
    #[error("所属コード {0} の所属はありません。")]
    DepartmentCode(String),
    #[error("所属 (id {0}) はありません。")]
    Department(i64),
    #[error("従業員 (id {0}) はいません。")]
    Employee(i64),
    #[error("従業員コード {0} の従業員はいません。")]
    EmployeeCode(String),
    #[error("従業員キー {0} の従業員はいません。")]
    EmployeeKey(String),
    /// A restore of an employee that is not deleted.
    #[error("従業員 (id {0}) は削除されていません。")]
    DeletedEmployee(i64),
    /// A link for an 打刻先アカウント that is not (or no longer) a user of ログイン記録.
    #[error("打刻先アカウント {0} はユーザー設定にありません。")]
    User(String),
    #[error("{employee_code} {} の手入力の{kind}はありません。", business_date.strftime("%Y/%m/%d"))]
    ManualPunch { employee_code: String, business_date: jiff::civil::Date, kind: &'static str },
}

/// A code that must be unique and is already used.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Taken {
    #[error("企業コード {0} はすでに使われています。")]
    CompanyCode(String),
    #[error("所属コード {0} はすでに使われています。別のコードを入力してください。")]
    DepartmentCode(String),
    #[error("従業員コード {0} はほかの従業員が使用しています。別のコードを入力してください。")]
    EmployeeCode(String),
    #[error("{0} はすでにあります。別のファイル名を指定してください。")]
    File(String),
}

/// A request the data refuses as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("タイムゾーン {0:?} はありません (例: Asia/Tokyo)。")]
    UnknownTimeZone(String),
    #[error("ログインID は 1〜64 文字で、制御文字を含まないものにしてください。")]
    LoginId,
    /// A サービスアカウント no LanScope user name of a person can match.
    #[error("{0}")]
    Account(loginrec_rules::validation::ValidationError),
    /// A punch given for a 勤務日 at a moment that cannot be on it.
    #[error("{0}")]
    PunchMoment(loginrec_rules::punch_moment::PunchMomentError),
    #[error("サービスアカウント {0:?} が2回指定されています。")]
    AccountTwice(String),
    #[error("打刻先アカウント {0:?} が2回指定されています。")]
    UserTwice(String),
    #[error("サービスアカウント {account:?} は打刻先アカウント {holder:?} に設定済みです。")]
    AccountHeld { account: String, holder: String },
    #[error("乖離の基準は 0〜1440 分で指定してください ({0} は指定できません)。")]
    DivergenceThreshold(i64),
    #[error("36協定の起算月は 1〜12 月で指定してください ({0} は指定できません)。")]
    AgreementMonth(i64),
    #[error("理由の選択肢 {0:?} は 100 文字以内で、改行などの制御文字を含まないものにしてください。")]
    ReasonChoice(String),
    #[error("理由 {0:?} は選択肢にありません。")]
    UnknownReason(String),
    #[error("理由の説明は 1000 文字以内にしてください。")]
    ReasonNote,
    /// Text with a control character the store keeps rows apart by (see `bulk::Listed`); the
    /// server refuses such rows before they get here.
    #[error("{0:?} は制御文字を含むため記録できません。")]
    ControlCharacters(String),
    #[error("backup copies SQLite databases; for PostgreSQL use pg_dump (see the README)")]
    BackupNeedsSqlite,
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(what.to_string())
    }
}
