//! A company to test with, and LanScope logs sent to it as the connector sends them.

use ingest_protocol::{ConnectorInfo, INGEST_PATH, IngestBatch, IngestRow};
use loginrec_store::Store;

/// One employee of [`seed_company`]: 従業員コード, 姓, 所属コード, and the サービスアカウント
/// linked to it, if any.
pub type SeedEmployee<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);

/// A company `code` with departments 100 本社 (日付変更時間 05:00) and 200 営業所 (00:00), the
/// given employees (名 太郎) and links, and an administrator `admin` when a password is given.
pub async fn seed_company(
    store: &Store,
    code: &str,
    employees: &[SeedEmployee<'_>],
    admin_password: Option<&str>,
) -> loginrec_store::Company {
    use loginrec_rules::DayChangeTime;
    use loginrec_store::{DepartmentInput, EmployeeInput};
    let company = store.create_company(code, &format!("{code} 株式会社"), "Asia/Tokyo").await.expect("company");
    let departments = [
        DepartmentInput { code: "100".into(), name: "本社".into(), day_change: DayChangeTime::LANSCOPE_DEFAULT },
        DepartmentInput { code: "200".into(), name: "営業所".into(), day_change: DayChangeTime::MIDNIGHT },
    ];
    store.attendance().upsert_departments(company.id, &departments).await.expect("departments");
    let inputs: Vec<EmployeeInput> = employees
        .iter()
        .map(|(code, last, dept, _)| EmployeeInput {
            code: code.to_string(),
            last_name: last.to_string(),
            first_name: "太郎".into(),
            department_code: dept.to_string(),
        })
        .collect();
    store.attendance().upsert_employees(company.id, &inputs).await.expect("employees");
    let links: Vec<(String, Option<String>)> = employees
        .iter()
        .filter_map(|(code, _, _, account)| account.map(|a| (code.to_string(), Some(a.to_string()))))
        .collect();
    if !links.is_empty() {
        store.apply_links(company.id, &links).await.expect("links");
    }
    if let Some(password) = admin_password {
        let hash = loginrec_server::hash_password(password.into()).await.expect("hash");
        store.admins().upsert_admin(company.id, "admin", &hash).await.expect("admin");
    }
    company
}

/// What the connector says of itself in every batch: version 1.0.0.5 on host `lsmgr`, with
/// LanScope's collection start at 05:00.
fn connector_info() -> ConnectorInfo {
    ConnectorInfo { version: "1.0.0.5".into(), host: "lsmgr".into(), collection_start: Some("05:00".into()) }
}

/// Sends one batch of company `code` through the ingest API with `token`, as the connector
/// would, and returns the answer whatever it is.
pub async fn post_batch(base_url: &str, code: &str, token: &str, rows: Vec<IngestRow>) -> reqwest::Response {
    let batch = IngestBatch { company_code: code.into(), connector: connector_info(), rows };
    reqwest::Client::new()
        .post(format!("{base_url}{INGEST_PATH}"))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .expect("ingest request")
}

/// One LanScope log for [`post_logs`]: user name, kind, Tokyo local time
/// (`2024-02-08T09:00:00`) and agent number.
pub type LogLine<'a> = (&'a str, loginrec_rules::LogKind, &'a str, &'a str);

/// Sends logs of company `code` through the ingest API as the connector would, and expects
/// them to be taken.
pub async fn post_logs(base_url: &str, token: &str, code: &str, logs: &[LogLine<'_>]) {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("time zone");
    let rows = logs
        .iter()
        .map(|(user, kind, local, agent)| {
            let at = tz.to_ambiguous_timestamp(local.parse().expect("local time")).compatible().expect("instant");
            let agent = Some(agent.to_string());
            IngestRow::new(code, user.to_string(), *kind, at.as_millisecond(), None, Some("1".into()), agent, None)
        })
        .collect();
    let response = post_batch(base_url, code, token, rows).await;
    assert_eq!(response.status(), 200);
}
