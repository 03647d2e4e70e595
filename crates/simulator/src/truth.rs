//! The ground truth: the punches the attendance system must show once every file is delivered.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::{Date, DateTime};
use loginrec_rules::{DayChangeTime, DayLog, bare_account, business_day, derive_day_punches, idempotency_key};

use crate::{ExpectedPunch, OutputLayout, SimConfig, SimDepartment, SimEmployee, SimEvent, Simulation};

/// The company code the truth's idempotency keys are built with; any constant would do, the
/// keys only need to tell records apart.
pub const COMPANY_CODE: &str = "DEMO01";

/// Per (employee, business day) the 出勤 / 退勤 that the records of the files give.
pub(crate) fn expected_punches(
    config: &SimConfig,
    departments: &[SimDepartment],
    employees: &[SimEmployee],
    records: &[SimEvent],
) -> Vec<ExpectedPunch> {
    let day_change: HashMap<&str, DayChangeTime> =
        departments.iter().map(|d| (d.code.as_str(), d.day_change)).collect();
    let linked: HashMap<&str, (&str, DayChangeTime)> = employees
        .iter()
        .map(|e| {
            let change = day_change.get(e.department_code.as_str()).copied().unwrap_or(DayChangeTime::MIDNIGHT);
            (e.service_account.as_str(), (e.code.as_str(), change))
        })
        .collect();

    let mut days: BTreeMap<(&str, Date), Vec<DayLog>> = BTreeMap::new();
    for record in records {
        let Some(&(code, change)) = linked.get(bare_account(&record.user_name)) else { continue };
        let day = business_day(record.event_at, &config.time_zone, change);
        let (sub_manager_no, agent_no) = match config.layout {
            OutputLayout::Events => (Some(record.sub_manager_no.as_str()), Some(record.agent_no.as_str())),
            OutputLayout::Summary => (None, None),
        };
        let key = idempotency_key(
            COMPANY_CODE,
            &record.user_name,
            record.kind,
            record.event_at.as_millisecond(),
            sub_manager_no,
            agent_no,
        );
        days.entry((code, day)).or_default().push(DayLog { at: record.event_at, key });
    }

    days.into_iter()
        .map(|((code, day), logs)| {
            let punches = derive_day_punches(&logs, None);
            ExpectedPunch {
                employee_code: code.to_string(),
                business_date: day,
                clock_in: punches.clock_in.map(|t| config.time_zone.to_datetime(t)),
                clock_out: punches.clock_out.map(|t| config.time_zone.to_datetime(t)),
            }
        })
        .collect()
}

/// `従業員コード,日付,出勤,退勤`: 日付 the business date as `YYYY-MM-DD`, 出勤 / 退勤 as
/// `YYYY/MM/DD HH:MM` (seconds cut, each with its own calendar date), empty when none.
pub fn expected_punches_csv(sim: &Simulation) -> String {
    let mut text = String::from("従業員コード,日付,出勤,退勤\r\n");
    for p in &sim.expected {
        text.push_str(&format!(
            "{},{:04}-{:02}-{:02},{},{}\r\n",
            crate::manager::field(&p.employee_code),
            p.business_date.year(),
            p.business_date.month(),
            p.business_date.day(),
            p.clock_in.map(minutes).unwrap_or_default(),
            p.clock_out.map(minutes).unwrap_or_default(),
        ));
    }
    text
}

fn minutes(at: DateTime) -> String {
    format!("{:04}/{:02}/{:02} {:02}:{:02}", at.year(), at.month(), at.day(), at.hour(), at.minute())
}
