//! LanScope simulator: PC activity, the CSV files LanScope's manager writes from it, and the
//! punches the attendance system must show once those files are delivered.
//!
//! Everything here is pure: [`simulate`] returns bytes and structs, reads no clock, touches no
//! file, and gives the same result for the same [`SimConfig`] (the random generator is a
//! ChaCha8 stream seeded with [`SimConfig::seed`]).
//!
//! - [`activity`](ActivityEvent): what happened on the PCs, including what the manager never
//!   writes (the `SYSTEM` user, ログ種類 3 and 4, events recorded too late for their window).
//! - The manager's files: for each LanScope day `D` the rows of `eventmr` with
//!   `日時` and `イベント日時` both in `[D 05:00, D+1 05:00)`, `ログオンユーザ名 <> 'SYSTEM'` and
//!   `ログ種類` 1 or 2, as an event list or as a 勤怠簿 summary, in CP932 or UTF-8.
//! - The masters: departments, employees and LanScope links, as the attendance system imports
//!   them ([`departments_csv`], [`employees_csv`], [`links_csv`]).
//! - The ground truth ([`Simulation::expected`], [`expected_punches_csv`]): the records as the
//!   files present them, cut into business days by each employee's department 日付変更時間 and
//!   turned into 出勤 / 退勤 by an oracle written from the specification's punch rules, not by
//!   the product's rules crate, so that a wrong rule cannot agree with itself.
//!
//! The scenario always contains, when the population is large enough: a department cutting days
//! at 05:00 and one at 00:00, a domain user (`CORP\…`), mixed-case user names, a local account
//! with a CP932-only kanji (髙), one user name used on two PCs, night shifts whose logoff lands
//! in the next day's file, logoffs after midnight, an early logon before 05:00, an unlinked
//! `kiosk` user, and at least one event recorded so late that the manager's filter drops it.
#![forbid(unsafe_code)]

mod activity;
mod manager;
mod masters;
mod truth;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use loginrec_rules::{DayChangeTime, LogKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

pub use activity::{ActivityEvent, DOMAIN, SYSTEM_USER, UNLINKED_USER};
pub use manager::{
    EVENTS_HEADER, SUMMARY_HEADER, UnmappableCharacter, encode_text, file_name, format_date_time, manager_window,
    user_name_order,
};
pub use masters::{departments_csv, employees_csv, links_csv};
pub use truth::expected_punches_csv;

/// Which of the manager's two output queries wrote the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLayout {
    /// One row per event: `日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名`.
    Events,
    /// 勤怠簿: one row per user and LanScope day: `日付,ログオンユーザ名,使用開始,使用終了`.
    Summary,
}

/// The character encoding of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputEncoding {
    /// Windows-31J, as a Japanese Windows server writes it.
    Cp932,
    /// UTF-8 without BOM.
    Utf8,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of employees with PCs (the unlinked `kiosk` PC comes on top).
    pub users: usize,
    /// Number of LanScope days to output, one file each.
    pub days: u32,
    /// The first LanScope day.
    pub start: Date,
    pub seed: u64,
    pub layout: OutputLayout,
    pub encoding: OutputEncoding,
    /// The company's (and the manager's) time zone.
    pub time_zone: TimeZone,
    /// The manager's collection start time: where one LanScope day ends and the next begins.
    pub collection_start: DayChangeTime,
}

impl SimConfig {
    /// Seed 1, event layout, CP932, Asia/Tokyo, collection start 05:00.
    pub fn new(users: usize, days: u32, start: Date) -> Self {
        SimConfig {
            users,
            days,
            start,
            seed: 1,
            layout: OutputLayout::Events,
            encoding: OutputEncoding::Cp932,
            time_zone: tokyo(),
            collection_start: DayChangeTime::LANSCOPE_DEFAULT,
        }
    }

    /// The LanScope days the files cover, in order.
    pub fn output_days(&self) -> impl Iterator<Item = Date> + '_ {
        (0..i64::from(self.days)).filter_map(move |n| add_days(self.start, n))
    }
}

/// Asia/Tokyo; should the system have no time zone database, its fixed +09:00 (Japan has
/// kept +09:00 without daylight saving since 1951, so both give the same local times).
pub fn tokyo() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(9)))
}

/// 所属 (department) as the attendance system knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimDepartment {
    pub code: String,
    pub name: String,
    pub day_change: DayChangeTime,
}

/// 従業員 (employee).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEmployee {
    /// A string with its leading zeros: `0001`.
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    /// The link's サービスアカウント: the LanScope user name without its domain.
    pub service_account: String,
}

/// One file the manager wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFile {
    /// `kintai_YYYYMMDD.csv`, after the LanScope day it covers.
    pub name: String,
    pub lanscope_day: Date,
    pub bytes: Vec<u8>,
}

/// The punches one employee's business day must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedPunch {
    pub employee_code: String,
    pub business_date: Date,
    /// Local time, seconds as generated.
    pub clock_in: Option<DateTime>,
    pub clock_out: Option<DateTime>,
}

/// One record as a file presents it.
///
/// For the summary layout each row presents a logon at 使用開始 and a logoff at 使用終了;
/// such records carry the `日時` of the event they come from but empty sub-manager, agent and
/// computer, which the summary does not show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEvent {
    pub user_name: String,
    pub kind: LogKind,
    pub event_at: Timestamp,
    pub recorded_at: Timestamp,
    pub sub_manager_no: String,
    pub agent_no: String,
    pub computer_name: String,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Simulation {
    pub config: SimConfig,
    pub departments: Vec<SimDepartment>,
    pub employees: Vec<SimEmployee>,
    /// One per LanScope day, in day order.
    pub files: Vec<SimFile>,
    /// Exactly the records the files present, file by file in row order.
    pub events_in_files: Vec<SimEvent>,
    /// Sorted by (employee code, business date).
    pub expected: Vec<ExpectedPunch>,
    /// Everything that happened on the PCs from the day before the first LanScope day to the
    /// day after the last, written or not, ordered by event time.
    pub activity: Vec<ActivityEvent>,
}

/// Why a simulation could not be produced.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SimError {
    #[error("the simulated period ({days} days from {start}) leaves the supported calendar range")]
    OutOfRange { start: Date, days: u32 },
    #[error("{file} cannot be written in CP932: {source}")]
    Unmappable {
        file: String,
        #[source]
        source: UnmappableCharacter,
    },
}

/// Runs the simulation.
///
/// # Panics
///
/// When the period reaches the ends of the supported calendar (years -9999 and 9999); use
/// [`try_simulate`] to get that as an error instead.
pub fn simulate(config: &SimConfig) -> Simulation {
    match try_simulate(config) {
        Ok(sim) => sim,
        Err(e) => panic!("cannot simulate: {e}"),
    }
}

/// Runs the simulation, or says why it cannot be run.
pub fn try_simulate(config: &SimConfig) -> Result<Simulation, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let population = activity::population(config.users);
    let activity = activity::generate(config, &population, &mut rng)?;

    let mut files = Vec::new();
    let mut events_in_files = Vec::new();
    for day in 0..i64::from(config.days) {
        let day = add_days(config.start, day).ok_or_else(|| out_of_range(config))?;
        let (file, events) = manager::render_day(config, day, &activity)?;
        files.push(file);
        events_in_files.extend(events);
    }

    let expected = truth::expected_punches(config, &population.departments, &population.employees, &events_in_files);
    Ok(Simulation {
        config: config.clone(),
        departments: population.departments,
        employees: population.employees,
        files,
        events_in_files,
        expected,
        activity,
    })
}

pub(crate) fn add_days(day: Date, n: i64) -> Option<Date> {
    let span = jiff::Span::new().try_days(n).ok()?;
    day.checked_add(span).ok()
}

pub(crate) fn out_of_range(config: &SimConfig) -> SimError {
    SimError::OutOfRange { start: config.start, days: config.days }
}
