//! The population (departments, employees, PCs) and what happens on the PCs.

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use loginrec_rules::{DayChangeTime, LogKind, business_day};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::{SimConfig, SimDepartment, SimEmployee, SimError, add_days, out_of_range};

/// The user name Windows services log on as; the manager never writes its logs.
pub const SYSTEM_USER: &str = "SYSTEM";
/// A shared PC's LanScope user that no employee is linked to: its logs are written, but give
/// no punch.
pub const UNLINKED_USER: &str = "kiosk";
/// The Windows domain of the domain users (`CORP\suzuki0002`).
pub const DOMAIN: &str = "CORP";

pub(crate) const HEAD_OFFICE: &str = "100";
pub(crate) const BRANCH: &str = "200";

/// 姓 with the romanisation the account names use. 髙橋 (with the CP932-only 髙) is there.
const SURNAMES: [(&str, &str); 13] = [
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("田中", "tanaka"),
    ("高橋", "takahashi"),
    ("髙橋", "takahashi"),
    ("渡辺", "watanabe"),
    ("伊藤", "ito"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
];

const FIRST_NAMES: [&str; 10] = ["太郎", "花子", "一郎", "美咲", "健太", "由美", "翔太", "陽子", "大輔", "恵子"];

/// The employee whose user name appears on two PCs.
const TWO_PC_ORDINAL: usize = 4;
/// The employee with a local Windows account in kanji (`髙橋健太`).
const KANJI_ACCOUNT_ORDINAL: usize = 5;

const H: i64 = 3600;
const M: i64 = 60;

const ABSENT_WEEKDAY: f64 = 0.15;
const ABSENT_WEEKEND: f64 = 0.8;
const EARLY_LOGON: f64 = 0.04;
const LATE_LOGOFF: f64 = 0.1;
const LUNCH_LOCK: f64 = 0.6;
const OTHER_OPERATIONS: f64 = 0.3;
const SECOND_PC: f64 = 0.4;
const KIOSK_WEEKEND: f64 = 0.5;
/// Share of events whose PC was offline, so the manager recorded them hours later.
const RECORDED_LATE: f64 = 0.02;

/// ログ種類 of operations other than start/end (the manager's query leaves them out).
const OTHER_OPERATION_START: u8 = 3;
const OTHER_OPERATION_END: u8 = 4;

/// One operation on a PC, as table `eventmr` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityEvent {
    /// ログオンユーザ名.
    pub user_name: String,
    /// ログ種類: 1 開始, 2 終了, 3 and 4 other operations.
    pub log_type: u8,
    /// イベント日時: when it happened on the PC.
    pub event_at: Timestamp,
    /// 日時: when the manager recorded it.
    pub recorded_at: Timestamp,
    pub sub_manager_no: String,
    pub agent_no: String,
    pub computer_name: String,
}

impl ActivityEvent {
    /// Logon / logoff for ログ種類 1 / 2, `None` for other operations.
    pub fn kind(&self) -> Option<LogKind> {
        match self.log_type {
            1 => Some(LogKind::Logon),
            2 => Some(LogKind::Logoff),
            _ => None,
        }
    }

    /// Whether the manager's query for the LanScope day whose window is `[start, end)` selects
    /// this row: both times in the window, not `SYSTEM`, ログ種類 1 or 2.
    ///
    /// `SYSTEM` is compared without regard to case, as SQL Server's default (case-insensitive)
    /// Japanese collation compares it.
    pub fn passes_manager_filter(&self, window: (Timestamp, Timestamp)) -> bool {
        let (start, end) = window;
        let inside = |t: Timestamp| start <= t && t < end;
        inside(self.recorded_at)
            && inside(self.event_at)
            && !self.user_name.eq_ignore_ascii_case(SYSTEM_USER)
            && matches!(self.log_type, 1 | 2)
    }
}

pub(crate) struct Pc {
    pub user_name: String,
    pub sub_manager_no: String,
    pub agent_no: String,
    pub computer_name: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shift {
    Day,
    Night,
}

struct Worker {
    ordinal: usize,
    shift: Shift,
    /// Indices into [`Population::pcs`]; the first is the employee's own PC.
    pcs: Vec<usize>,
}

pub(crate) struct Population {
    pub departments: Vec<SimDepartment>,
    pub employees: Vec<SimEmployee>,
    pcs: Vec<Pc>,
    workers: Vec<Worker>,
    kiosk_pc: usize,
}

/// Departments, employees and PCs for `users` employees.
pub(crate) fn population(users: usize) -> Population {
    let departments = vec![
        SimDepartment {
            code: HEAD_OFFICE.to_string(),
            name: "本社".to_string(),
            day_change: DayChangeTime::LANSCOPE_DEFAULT,
        },
        SimDepartment { code: BRANCH.to_string(), name: "営業所".to_string(), day_change: DayChangeTime::MIDNIGHT },
    ];
    let mut employees = Vec::with_capacity(users);
    let mut pcs = Vec::with_capacity(users + 2);
    let mut workers = Vec::with_capacity(users);
    for ordinal in 1..=users {
        let code = format!("{ordinal:04}");
        let (last_name, romaji) = SURNAMES[(ordinal - 1) % SURNAMES.len()];
        let first_name = FIRST_NAMES[(ordinal - 1) % FIRST_NAMES.len()];
        let head_office = ordinal % 2 == 1;
        let (user_name, service_account) = account_name(ordinal, &code, last_name, romaji, first_name);
        employees.push(SimEmployee {
            code: code.clone(),
            last_name: last_name.to_string(),
            first_name: first_name.to_string(),
            department_code: if head_office { HEAD_OFFICE } else { BRANCH }.to_string(),
            service_account,
        });
        let sub_manager_no = if head_office { "1" } else { "2" };
        let mut own = vec![pcs.len()];
        pcs.push(Pc {
            user_name: user_name.clone(),
            sub_manager_no: sub_manager_no.to_string(),
            agent_no: (pcs.len() + 1).to_string(),
            computer_name: format!("PC-{code}"),
        });
        if ordinal == TWO_PC_ORDINAL {
            own.push(pcs.len());
            pcs.push(Pc {
                user_name,
                sub_manager_no: sub_manager_no.to_string(),
                agent_no: (pcs.len() + 1).to_string(),
                computer_name: format!("PC-{code}-2"),
            });
        }
        let shift = if ordinal % 7 == 6 { Shift::Night } else { Shift::Day };
        workers.push(Worker { ordinal, shift, pcs: own });
    }
    let kiosk_pc = pcs.len();
    pcs.push(Pc {
        user_name: UNLINKED_USER.to_string(),
        sub_manager_no: "1".to_string(),
        agent_no: (pcs.len() + 1).to_string(),
        computer_name: "KIOSK-01".to_string(),
    });
    Population { departments, employees, pcs, workers, kiosk_pc }
}

/// The LanScope user name and the サービスアカウント an administrator links it with: mostly plain
/// ASCII names; every fourth from the second a domain user (`CORP\suzuki0002`, linked as
/// `suzuki0002`), every fourth from the third capitalised, and one local account in kanji.
/// The account is written out here, as the administrator types it, not derived by the
/// product's matching rule.
fn account_name(ordinal: usize, code: &str, last_name: &str, romaji: &str, first_name: &str) -> (String, String) {
    if ordinal == KANJI_ACCOUNT_ORDINAL {
        let name = format!("{last_name}{first_name}");
        return (name.clone(), name);
    }
    match ordinal % 4 {
        2 => (format!("{DOMAIN}\\{romaji}{code}"), format!("{romaji}{code}")),
        3 => {
            let mut chars = romaji.chars();
            let capitalised: String = chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect();
            let name = format!("{capitalised}{code}");
            (name.clone(), name)
        }
        _ => {
            let name = format!("{romaji}{code}");
            (name.clone(), name)
        }
    }
}

/// A (user, day) whose plan the scenario fixes so that every feature shows up. Such days are
/// present and all their events are recorded promptly.
#[derive(Clone, Copy, Default)]
struct Force {
    late: Option<bool>,
    early: Option<bool>,
    second_pc: bool,
}

/// `relative_day` counts from the first LanScope day (0) of the output.
fn force_for(ordinal: usize, relative_day: i64, first_night: Option<usize>) -> Option<Force> {
    match (ordinal, relative_day) {
        // Post-midnight logoffs, in a 05:00 department and in a 00:00 one.
        (1, 0) | (2, 0) => Some(Force { late: Some(true), ..Force::default() }),
        // An early logon at 04:xx, which belongs to the previous LanScope day.
        (3, 0) => Some(Force { late: Some(false), early: Some(false), ..Force::default() }),
        (3, 1) => Some(Force { early: Some(true), ..Force::default() }),
        // The same user name on two PCs.
        (TWO_PC_ORDINAL, 0) => Some(Force { second_pc: true, ..Force::default() }),
        // The kanji account.
        (KANJI_ACCOUNT_ORDINAL, 0) => Some(Force::default()),
        // A night shift whose logoff lands in the next file.
        (n, 0) if Some(n) == first_night => Some(Force::default()),
        _ => None,
    }
}

struct Generated {
    event: ActivityEvent,
    pinned: bool,
}

struct Generator<'a> {
    config: &'a SimConfig,
    rng: &'a mut ChaCha8Rng,
    out: Vec<Generated>,
}

/// Generates the activity from the day before the first LanScope day through the day after
/// the last, ordered by event time.
pub(crate) fn generate(
    config: &SimConfig,
    population: &Population,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<ActivityEvent>, SimError> {
    let mut g = Generator { config, rng, out: Vec::new() };
    let first_night = population.workers.iter().find(|w| w.shift == Shift::Night).map(|w| w.ordinal);
    let activity_days = i64::from(config.days) + 2;

    for worker in &population.workers {
        let mut previous_late = false;
        for k in 0..activity_days {
            let relative = k - 1;
            let day = add_days(config.start, relative).ok_or_else(|| out_of_range(config))?;
            let force = force_for(worker.ordinal, relative, first_night);
            previous_late = match worker.shift {
                Shift::Day => g.day_shift(&population.pcs, worker, day, force, previous_late)?,
                Shift::Night => g.night_shift(&population.pcs, worker, day, force)?,
            };
        }
    }
    for k in 0..activity_days {
        let relative = k - 1;
        let day = add_days(config.start, relative).ok_or_else(|| out_of_range(config))?;
        g.kiosk(&population.pcs[population.kiosk_pc], day, relative == 0)?;
    }
    g.ensure_a_dropped_event(&population.pcs[population.kiosk_pc])?;

    let mut events: Vec<ActivityEvent> = g.out.into_iter().map(|x| x.event).collect();
    events.sort_by(|a, b| {
        (a.event_at, &a.user_name, &a.agent_no, a.log_type, a.recorded_at).cmp(&(
            b.event_at,
            &b.user_name,
            &b.agent_no,
            b.log_type,
            b.recorded_at,
        ))
    });
    Ok(events)
}

fn is_weekend(day: Date) -> bool {
    matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl Generator<'_> {
    fn local(&self, day: Date, seconds: i64) -> Result<Timestamp, SimError> {
        let at = day
            .to_datetime(Time::midnight())
            .checked_add(SignedDuration::from_secs(seconds))
            .map_err(|_| out_of_range(self.config))?;
        self.config.time_zone.to_ambiguous_timestamp(at).compatible().map_err(|_| out_of_range(self.config))
    }

    fn later(&self, at: Timestamp, seconds: i64) -> Result<Timestamp, SimError> {
        at.checked_add(SignedDuration::from_secs(seconds)).map_err(|_| out_of_range(self.config))
    }

    /// Records one operation at `seconds` after midnight of `day` (may exceed a day).
    fn emit(
        &mut self,
        pc: &Pc,
        user: &str,
        log_type: u8,
        day: Date,
        seconds: i64,
        pinned: bool,
    ) -> Result<(), SimError> {
        let event_at = self.local(day, seconds)?;
        let offline = !pinned && self.rng.random_bool(RECORDED_LATE);
        let delay = if offline { self.rng.random_range(H..=20 * H) } else { self.rng.random_range(1..=90) };
        let recorded_at = self.later(event_at, delay)?;
        self.push(pc, user, log_type, event_at, recorded_at, pinned);
        Ok(())
    }

    fn push(&mut self, pc: &Pc, user: &str, log_type: u8, event_at: Timestamp, recorded_at: Timestamp, pinned: bool) {
        self.out.push(Generated {
            event: ActivityEvent {
                user_name: user.to_string(),
                log_type,
                event_at,
                recorded_at,
                sub_manager_no: pc.sub_manager_no.clone(),
                agent_no: pc.agent_no.clone(),
                computer_name: pc.computer_name.clone(),
            },
            pinned,
        });
    }

    /// A session on one PC: the PC boots (SYSTEM 開始), the user logs on, maybe does other
    /// operations, logs off, and the PC shuts down (SYSTEM 終了).
    fn session(&mut self, pc: &Pc, day: Date, on: i64, off: i64, pinned: bool) -> Result<(), SimError> {
        let boot = on - self.rng.random_range(30..=180);
        let shutdown = off + self.rng.random_range(5..=60);
        self.emit(pc, SYSTEM_USER, 1, day, boot, pinned)?;
        self.emit(pc, &pc.user_name, 1, day, on, pinned)?;
        if self.rng.random_bool(OTHER_OPERATIONS) {
            self.other_operation(pc, day, on, off, pinned)?;
        }
        self.emit(pc, &pc.user_name, 2, day, off, pinned)?;
        self.emit(pc, SYSTEM_USER, 2, day, shutdown, pinned)
    }

    fn other_operation(&mut self, pc: &Pc, day: Date, on: i64, off: i64, pinned: bool) -> Result<(), SimError> {
        let from = on + 10 * M;
        let to = (off - 30 * M).max(from + 1);
        let at = self.rng.random_range(from..to);
        let end = at + self.rng.random_range(M..=20 * M);
        self.emit(pc, &pc.user_name, OTHER_OPERATION_START, day, at, pinned)?;
        self.emit(pc, &pc.user_name, OTHER_OPERATION_END, day, end, pinned)
    }

    fn present(&mut self, day: Date, forced: bool) -> bool {
        forced || !self.rng.random_bool(if is_weekend(day) { ABSENT_WEEKEND } else { ABSENT_WEEKDAY })
    }

    /// Returns whether the day ended with a logoff after midnight.
    fn day_shift(
        &mut self,
        pcs: &[Pc],
        worker: &Worker,
        day: Date,
        force: Option<Force>,
        previous_late: bool,
    ) -> Result<bool, SimError> {
        let pinned = force.is_some();
        let force = force.unwrap_or_default();
        if !self.present(day, pinned) {
            return Ok(false);
        }
        let Some(pc) = worker.pcs.first().and_then(|&i| pcs.get(i)) else {
            return Ok(false);
        };
        let early = match force.early {
            Some(early) => early,
            None => !previous_late && self.rng.random_bool(EARLY_LOGON),
        };
        let on = if early {
            self.rng.random_range(4 * H..4 * H + 50 * M)
        } else {
            self.rng.random_range(7 * H + 30 * M..=10 * H)
        };
        let late = match force.late {
            Some(late) => late,
            None => self.rng.random_bool(LATE_LOGOFF),
        };
        let off =
            if late { self.rng.random_range(24 * H..=28 * H + 30 * M) } else { self.rng.random_range(17 * H..=22 * H) };
        let lunch = self.rng.random_bool(LUNCH_LOCK);

        let boot = on - self.rng.random_range(30..=180);
        let shutdown = off + self.rng.random_range(5..=60);
        self.emit(pc, SYSTEM_USER, 1, day, boot, pinned)?;
        self.emit(pc, &pc.user_name, 1, day, on, pinned)?;
        if lunch {
            let lock = self.rng.random_range(11 * H + 50 * M..=12 * H + 15 * M);
            let back = lock + self.rng.random_range(40 * M..=70 * M);
            self.emit(pc, &pc.user_name, 2, day, lock, pinned)?;
            self.emit(pc, &pc.user_name, 1, day, back, pinned)?;
        }
        if self.rng.random_bool(OTHER_OPERATIONS) {
            self.other_operation(pc, day, on, off, pinned)?;
        }
        self.emit(pc, &pc.user_name, 2, day, off, pinned)?;
        self.emit(pc, SYSTEM_USER, 2, day, shutdown, pinned)?;

        // The second PC of a user name used on two PCs (a meeting-room PC, in the afternoon).
        let second = worker.pcs.get(1).and_then(|&i| pcs.get(i));
        if let Some(second) = second.filter(|_| force.second_pc || self.rng.random_bool(SECOND_PC)) {
            let on = self.rng.random_range(14 * H..=15 * H);
            let off = self.rng.random_range(15 * H + 30 * M..=16 * H + 30 * M);
            self.session(second, day, on, off, pinned)?;
        }
        Ok(late)
    }

    /// Logon 21:00–23:00, logoff 05:30–07:30 the next morning: past midnight and past the
    /// collection start, so the logoff is in the next LanScope day.
    fn night_shift(&mut self, pcs: &[Pc], worker: &Worker, day: Date, force: Option<Force>) -> Result<bool, SimError> {
        let pinned = force.is_some();
        if !self.present(day, pinned) {
            return Ok(false);
        }
        let Some(pc) = worker.pcs.first().and_then(|&i| pcs.get(i)) else {
            return Ok(false);
        };
        let on = self.rng.random_range(21 * H..=23 * H);
        let off = self.rng.random_range(29 * H + 30 * M..=31 * H + 30 * M);
        self.session(pc, day, on, off, pinned)?;
        Ok(false)
    }

    /// The shared PC: on every weekday, some weekend days, always with other operations.
    fn kiosk(&mut self, pc: &Pc, day: Date, pinned: bool) -> Result<(), SimError> {
        if !(pinned || !is_weekend(day) || self.rng.random_bool(KIOSK_WEEKEND)) {
            return Ok(());
        }
        let on = self.rng.random_range(8 * H..=8 * H + 30 * M);
        let off = self.rng.random_range(20 * H..=21 * H);
        let boot = on - self.rng.random_range(30..=180);
        let shutdown = off + self.rng.random_range(5..=60);
        let pause = self.rng.random_range(12 * H..=12 * H + 30 * M);
        let resume = pause + self.rng.random_range(30 * M..=60 * M);
        self.emit(pc, SYSTEM_USER, 1, day, boot, pinned)?;
        self.emit(pc, &pc.user_name, 1, day, on, pinned)?;
        self.emit(pc, &pc.user_name, OTHER_OPERATION_START, day, pause, pinned)?;
        self.emit(pc, &pc.user_name, OTHER_OPERATION_END, day, resume, pinned)?;
        self.emit(pc, &pc.user_name, 2, day, off, pinned)?;
        self.emit(pc, SYSTEM_USER, 2, day, shutdown, pinned)
    }

    /// The output LanScope day whose window holds `at`, if any.
    fn output_day(&self, at: Timestamp) -> Option<Date> {
        let day = business_day(at, &self.config.time_zone, self.config.collection_start);
        let last = add_days(self.config.start, i64::from(self.config.days) - 1)?;
        (self.config.start <= day && day <= last).then_some(day)
    }

    fn window_end(&self, day: Date) -> Timestamp {
        crate::manager_window(self.config, day).1
    }

    /// Makes sure at least one start/end event of a real user happened inside an output window
    /// but was recorded after that window closed, so the manager's filter drops it: if the
    /// random stream gave none, one unfixed employee event is delayed; failing that the kiosk
    /// gets a short evening session whose logoff reaches the manager the next morning.
    fn ensure_a_dropped_event(&mut self, kiosk: &Pc) -> Result<(), SimError> {
        let dropped = |g: &Generated, this: &Self| {
            let e = &g.event;
            e.kind().is_some()
                && !e.user_name.eq_ignore_ascii_case(SYSTEM_USER)
                && this.output_day(e.event_at).is_some_and(|d| e.recorded_at >= this.window_end(d))
        };
        if self.out.iter().any(|g| dropped(g, self)) || self.config.days == 0 {
            return Ok(());
        }
        let candidates: Vec<usize> = self
            .out
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                let e = &g.event;
                !g.pinned
                    && e.kind().is_some()
                    && e.user_name != SYSTEM_USER
                    && e.user_name != UNLINKED_USER
                    && self.output_day(e.event_at).is_some()
            })
            .map(|(i, _)| i)
            .collect();
        if !candidates.is_empty() {
            let pick = candidates[self.rng.random_range(0..candidates.len())];
            let delay = self.rng.random_range(H..=6 * H);
            let event_at = self.out[pick].event.event_at;
            let day = self.output_day(event_at).ok_or_else(|| out_of_range(self.config))?;
            let recorded_at = self.later(self.window_end(day), delay)?;
            self.out[pick].event.recorded_at = recorded_at;
            return Ok(());
        }
        let day = self.config.start;
        let on = self.rng.random_range(21 * H + 30 * M..=21 * H + 45 * M);
        let off = self.rng.random_range(21 * H + 50 * M..=22 * H + 10 * M);
        self.emit(kiosk, &kiosk.user_name, 1, day, on, true)?;
        let off_at = self.local(day, off)?;
        let delay = self.rng.random_range(H..=3 * H);
        let recorded_at = self.later(self.window_end(day), delay)?;
        self.push(kiosk, &kiosk.user_name, 2, off_at, recorded_at, true);
        Ok(())
    }
}
