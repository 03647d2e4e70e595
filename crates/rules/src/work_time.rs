//! What an employee's business days and months add up to, and the long-hours alerts HR acts
//! on. 日別データ, the time card, 月別データ, `GET /daily-workings` and `GET /monthly-workings`
//! all read a day from here, so a day never adds up differently on two of them.
//!
//! What must stay true:
//! - a day has worked time only when it has both 出勤 and 退勤, 退勤 at or after 出勤;
//! - 休憩 is what the break punches (休憩開始 / 休憩終了) cover between 出勤 and 退勤, or, on a day
//!   without them, the least break 労働基準法 第34条 requires of the day: 45 minutes when the work
//!   would pass 6 hours, 60 when it would pass 8, and no more than needed to keep the work at
//!   6 or 8 hours ([`statutory_break_minutes`]): a deemed break never hides worked time;
//! - 労働時間 = 出勤 to 退勤 less 休憩; 時間外 (legal overtime) is the work past 8 hours a day
//!   (第32条 2項), then, of the rest, what passes 40 hours in the week (第32条 1項), counted on
//!   the day that passes it; a week starts on the company's week start, and a month's first
//!   week counts the days of the month before it;
//! - on the company's legal day off (法定休日, default Sunday) all work is 休日労働, neither
//!   時間外 nor counted toward the week's 40 hours (第35条, 第37条);
//! - 深夜 is the work between 22:00 and 05:00 local time (第37条 4項), never more than the work;
//!   the part of it within 時間外 is the night among the day's last worked minutes, as many as
//!   its 時間外 (the hours past 8 are the day's last ones);
//! - every part (時間外, 深夜, 休日労働, 休憩) is at most the day's span, and the month's figures are
//!   the sums of its days'.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use jiff::civil::Time;

/// The legal working time of one day (労働基準法 第32条 2項), in minutes.
pub const LEGAL_DAILY_MINUTES: i64 = 8 * 60;
/// The legal working time of one week (労働基準法 第32条 1項), in minutes.
pub const LEGAL_WEEKLY_MINUTES: i64 = 40 * 60;
/// 時間外 in a month past which an 36協定's basic limit is exceeded (45 hours).
pub const MONTHLY_OVERTIME_LIMIT_MINUTES: i64 = 45 * 60;
/// 時間外 and 休日労働 in a month past which the worker is to be told and offered a doctor
/// (労働安全衛生規則 第52条の2: 80 hours).
pub const MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES: i64 = 80 * 60;
/// 時間外 in a year past which an 36協定's basic limit is exceeded (360 hours).
pub const YEARLY_OVERTIME_LIMIT_MINUTES: i64 = 360 * 60;

/// A company's choices the month's figures depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkRules {
    /// 法定休日: work on this weekday is 休日労働.
    pub legal_day_off: Weekday,
    /// The first day of a week for the 40 hours.
    pub week_starts: Weekday,
}

impl Default for WorkRules {
    fn default() -> WorkRules {
        WorkRules { legal_day_off: Weekday::Sunday, week_starts: Weekday::Sunday }
    }
}

/// One business day as the month needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkDay {
    pub date: Date,
    pub clock_in: Option<Timestamp>,
    pub clock_out: Option<Timestamp>,
    /// 休憩開始 and 休憩終了 pairs.
    pub breaks: Vec<(Timestamp, Timestamp)>,
    /// Whether the day is flagged for 乖離 (see [`crate::divergence`]).
    pub diverged: bool,
}

/// What one day adds up to, in minutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayWork {
    pub date: Date,
    /// 出勤 to 退勤 (0 without both).
    pub span: i64,
    pub breaks: i64,
    /// Whether the break was deemed (no break punches).
    pub deemed_break: bool,
    pub work: i64,
    /// 時間外: the day's part past 8 hours and its part past the week's 40.
    pub overtime: i64,
    /// 深夜: the worked minutes between 22:00 and 05:00.
    pub late_night: i64,
    /// The part of `late_night` within `overtime`.
    pub late_night_overtime: i64,
    pub holiday_work: i64,
    /// A past day with only one of 出勤 and 退勤.
    pub missing_punch: bool,
    /// The day has a 出勤 (a day at work even when its 退勤 is missing).
    pub clocked_in: bool,
    pub diverged: bool,
}

/// What a month (or any period) adds up to, in minutes and days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonthTotals {
    /// 出勤日数: days with a 出勤 (a day that misses its 退勤 is still a day at work).
    pub days_worked: u32,
    pub work: i64,
    pub breaks: i64,
    pub overtime: i64,
    pub late_night: i64,
    /// The part of `late_night` within `overtime`.
    pub late_night_overtime: i64,
    pub holiday_work: i64,
    /// Days with 休日労働.
    pub holiday_work_days: u32,
    /// 打刻漏れ days.
    pub missing_punch_days: u32,
    /// 乖離 days.
    pub divergence_days: u32,
}

/// The least break 第34条 requires of a day whose 出勤 and 退勤 are `span` minutes apart: none
/// up to 6 hours; then as much as keeps the work at 6 hours, up to 45 minutes; 45 minutes while
/// the work stays within 8 hours; then as much as keeps it at 8 hours, up to 60 minutes.
pub fn statutory_break_minutes(span: i64) -> i64 {
    const SIX_HOURS: i64 = 6 * 60;
    match span {
        s if s <= SIX_HOURS => 0,
        s if s <= SIX_HOURS + 45 => s - SIX_HOURS,
        s if s <= LEGAL_DAILY_MINUTES + 45 => 45,
        s if s <= LEGAL_DAILY_MINUTES + 60 => s - LEGAL_DAILY_MINUTES,
        _ => 60,
    }
}

/// The days of `days` within `[from, to]`, each with its figures, and their totals. Days before
/// `from` in its week count toward that week's 40 hours only; `today` is the company's current
/// business day (a day still going on misses no punch yet).
pub fn month_totals(
    days: &[WorkDay],
    from: Date,
    to: Date,
    today: Date,
    tz: &TimeZone,
    rules: WorkRules,
) -> (Vec<DayWork>, MonthTotals) {
    let each = days_work(days, from, to, today, tz, rules);
    let totals = MonthTotals::of(&each);
    (each, totals)
}

/// The figures of each day of `days` within `[from, to]`, in date order: the days before `from`
/// in its week count toward that week's 40 hours only.
pub fn days_work(days: &[WorkDay], from: Date, to: Date, today: Date, tz: &TimeZone, rules: WorkRules) -> Vec<DayWork> {
    let mut sorted: Vec<&WorkDay> = days.iter().filter(|d| d.date <= to).collect();
    sorted.sort_by_key(|d| d.date);
    let mut out = Vec::new();
    let mut week: Option<Date> = None;
    let mut within_week = 0i64;
    for day in sorted {
        let start = week_start(day.date, rules.week_starts);
        if week != Some(start) {
            week = Some(start);
            within_week = 0;
        }
        let mut work = day_work(day, today, tz, rules);
        if work.holiday_work == 0 {
            // The part within 8 hours counts toward the week's 40; what passes them is 時間外.
            let within_day = work.work - work.overtime;
            let past_before = (within_week - LEGAL_WEEKLY_MINUTES).max(0);
            within_week += within_day;
            work.overtime += (within_week - LEGAL_WEEKLY_MINUTES).max(0) - past_before;
            work.late_night_overtime = night_in_last(&worked_stretches(day), work.overtime, tz).min(work.late_night);
        }
        if day.date >= from {
            out.push(work);
        }
    }
    out
}

impl MonthTotals {
    /// The sums of some days' figures.
    pub fn of(days: &[DayWork]) -> MonthTotals {
        let mut totals = MonthTotals::default();
        for work in days {
            totals.days_worked += u32::from(work.clocked_in || work.span > 0);
            totals.work += work.work;
            totals.breaks += work.breaks;
            totals.overtime += work.overtime;
            totals.late_night += work.late_night;
            totals.late_night_overtime += work.late_night_overtime;
            totals.holiday_work += work.holiday_work;
            totals.holiday_work_days += u32::from(work.holiday_work > 0);
            totals.missing_punch_days += u32::from(work.missing_punch);
            totals.divergence_days += u32::from(work.diverged);
        }
        totals
    }
}

/// One day's figures on its own: its 時間外 is the part past 8 hours only (the week's 40 hours
/// are counted by [`days_work`]).
pub fn day_work(day: &WorkDay, today: Date, tz: &TimeZone, rules: WorkRules) -> DayWork {
    let mut work = DayWork {
        date: day.date,
        missing_punch: day.date < today && day.clock_in.is_some() != day.clock_out.is_some(),
        clocked_in: day.clock_in.is_some(),
        diverged: day.diverged,
        ..DayWork::default()
    };
    let (Some(clock_in), Some(clock_out)) = (day.clock_in, day.clock_out) else { return work };
    if clock_out < clock_in {
        return work;
    }
    work.span = minutes(clock_in, clock_out);
    // Break punches count where they fall between 出勤 and 退勤, each minute once.
    let mut punched: Vec<(Timestamp, Timestamp)> =
        day.breaks.iter().map(|&(a, b)| (a.max(clock_in), b.min(clock_out))).filter(|(a, b)| a < b).collect();
    punched.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (a, b) in punched {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let night = late_night_minutes(clock_in, clock_out, tz);
    if day.breaks.is_empty() {
        work.deemed_break = true;
        work.breaks = statutory_break_minutes(work.span);
        work.work = work.span - work.breaks;
        // Where a deemed break falls is not known: the night is counted as worked, within the work.
        work.late_night = night.min(work.work);
    } else {
        let seconds: i64 = merged.iter().map(|(a, b)| b.as_second() - a.as_second()).sum();
        work.breaks = (seconds / 60).min(work.span);
        work.work = work.span - work.breaks;
        let night_breaks: i64 = merged.iter().map(|&(a, b)| late_night_minutes(a, b, tz)).sum();
        work.late_night = (night - night_breaks).clamp(0, work.work);
    }
    if day.date.weekday() == rules.legal_day_off {
        work.holiday_work = work.work;
    } else {
        work.overtime = (work.work - LEGAL_DAILY_MINUTES).max(0);
        work.late_night_overtime = night_in_last(&worked_stretches(day), work.overtime, tz).min(work.late_night);
    }
    work
}

/// The stretches of a day between 出勤 and 退勤 that its break punches leave; the whole span
/// when it has none (a deemed break has no place).
fn worked_stretches(day: &WorkDay) -> Vec<(Timestamp, Timestamp)> {
    let (Some(clock_in), Some(clock_out)) = (day.clock_in, day.clock_out) else { return Vec::new() };
    if clock_out < clock_in {
        return Vec::new();
    }
    let mut breaks: Vec<(Timestamp, Timestamp)> =
        day.breaks.iter().map(|&(a, b)| (a.max(clock_in), b.min(clock_out))).filter(|(a, b)| a < b).collect();
    breaks.sort();
    let mut out = Vec::new();
    let mut from = clock_in;
    for (a, b) in breaks {
        if a > from {
            out.push((from, a));
        }
        from = from.max(b);
    }
    if clock_out > from {
        out.push((from, clock_out));
    }
    out
}

/// The late-night minutes among the last `minutes` of `stretches` (in time order).
fn night_in_last(stretches: &[(Timestamp, Timestamp)], minutes: i64, tz: &TimeZone) -> i64 {
    let mut left = minutes * 60;
    let mut seconds = 0;
    for &(a, b) in stretches.iter().rev() {
        if left <= 0 {
            break;
        }
        let length = b.as_second() - a.as_second();
        let from = if length > left { Timestamp::from_second(b.as_second() - left).unwrap_or(a) } else { a };
        seconds += late_night_seconds(from, b, tz);
        left -= length;
    }
    seconds / 60
}

/// The minutes of `[from, to)` that fall between 22:00 and 05:00 on the local clock of `tz`.
pub fn late_night_minutes(from: Timestamp, to: Timestamp, tz: &TimeZone) -> i64 {
    late_night_seconds(from, to, tz) / 60
}

/// Each local day touched contributes its `[00:00, 05:00)` and `[22:00, 24:00)`, so a day that
/// gains or loses an hour to daylight saving is counted in real time.
fn late_night_seconds(from: Timestamp, to: Timestamp, tz: &TimeZone) -> i64 {
    if to <= from {
        return 0;
    }
    let mut seconds = 0;
    let last = tz.to_datetime(to).date();
    let mut day = tz.to_datetime(from).date().yesterday().unwrap_or(Date::MIN);
    while day <= last {
        let Ok(next) = day.tomorrow() else { break };
        for (start, end) in [
            (day.to_datetime(Time::midnight()), day.to_datetime(Time::constant(5, 0, 0, 0))),
            (day.to_datetime(Time::constant(22, 0, 0, 0)), next.to_datetime(Time::midnight())),
        ] {
            let (Ok(start), Ok(end)) = (tz.to_timestamp(start), tz.to_timestamp(end)) else { continue };
            let (a, b) = (start.max(from), end.min(to));
            if b > a {
                seconds += b.as_second() - a.as_second();
            }
        }
        day = next;
    }
    seconds
}

/// The first day of the week `date` is in.
fn week_start(date: Date, starts: Weekday) -> Date {
    let back = date.weekday().since(starts);
    date.checked_sub(jiff::Span::new().days(i64::from(back))).unwrap_or(date)
}

/// Whole minutes from `from` to `to` (seconds dropped, as the time card shows minutes).
fn minutes(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 60
}

/// A long-hours alert on an employee's month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongHours {
    /// 時間外 of the month past 45 hours.
    MonthlyOvertime { minutes: i64 },
    /// 時間外 and 休日労働 of the month past 80 hours.
    MonthlyOvertimeAndHoliday { minutes: i64 },
    /// 時間外 of the year so far past 360 hours.
    YearlyOvertime { minutes: i64 },
}

impl LongHours {
    pub fn label_ja(self) -> String {
        let hours = |m: i64| format!("{}:{:02}", m / 60, m % 60);
        match self {
            LongHours::MonthlyOvertime { minutes } => format!("月の時間外 {} (45時間超)", hours(minutes)),
            LongHours::MonthlyOvertimeAndHoliday { minutes } => {
                format!("月の時間外・休日労働 {} (80時間超)", hours(minutes))
            }
            LongHours::YearlyOvertime { minutes } => format!("年の時間外 {} (360時間超)", hours(minutes)),
        }
    }
}

/// The alerts a month raises; `year_overtime` is the 時間外 of the year so far, this month
/// included.
pub fn long_hours(month: &MonthTotals, year_overtime: i64) -> Vec<LongHours> {
    let mut alerts = Vec::new();
    if month.overtime > MONTHLY_OVERTIME_LIMIT_MINUTES {
        alerts.push(LongHours::MonthlyOvertime { minutes: month.overtime });
    }
    let both = month.overtime + month.holiday_work;
    if both > MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES {
        alerts.push(LongHours::MonthlyOvertimeAndHoliday { minutes: both });
    }
    if year_overtime > YEARLY_OVERTIME_LIMIT_MINUTES {
        alerts.push(LongHours::YearlyOvertime { minutes: year_overtime });
    }
    alerts
}

/// Where `so_far` minutes after `days_elapsed` of a month's `days_in_month` days are heading by
/// its end, at the same pace.
pub fn on_pace(so_far: i64, days_elapsed: i64, days_in_month: i64) -> i64 {
    if days_elapsed <= 0 {
        return so_far;
    }
    so_far * days_in_month.max(days_elapsed) / days_elapsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").unwrap()
    }

    fn at(d: Date, h: i8, m: i8) -> Timestamp {
        tokyo().to_timestamp(d.at(h, m, 0, 0)).unwrap()
    }

    fn day(d: Date, from: (i8, i8), to: (i8, i8)) -> WorkDay {
        WorkDay {
            date: d,
            clock_in: Some(at(d, from.0, from.1)),
            clock_out: Some(at(d, to.0, to.1)),
            ..WorkDay::default()
        }
    }

    fn one(d: &WorkDay) -> DayWork {
        day_work(d, date(2100, 1, 1), &tokyo(), WorkRules::default())
    }

    #[test]
    fn the_deemed_break_is_the_least_the_law_requires() {
        assert_eq!(statutory_break_minutes(360), 0);
        assert_eq!(statutory_break_minutes(380), 20, "work kept at six hours");
        assert_eq!(statutory_break_minutes(405), 45);
        assert_eq!(statutory_break_minutes(525), 45, "8:45 of span: 8 hours of work");
        assert_eq!(statutory_break_minutes(530), 50, "work kept at eight hours");
        assert_eq!(statutory_break_minutes(540), 60);
        assert_eq!(statutory_break_minutes(900), 60);
    }

    #[test]
    fn a_nine_to_six_day_works_eight_hours_with_its_deemed_hour_of_break() {
        let w = one(&day(date(2024, 2, 8), (9, 0), (18, 0)));
        assert_eq!((w.span, w.breaks, w.work, w.overtime, w.late_night), (540, 60, 480, 0, 0));
        assert!(w.deemed_break);
    }

    #[test]
    fn break_punches_replace_the_deemed_break_and_their_night_minutes_are_not_worked() {
        let d = date(2024, 2, 8);
        let mut w = day(d, (13, 0), (23, 30));
        w.breaks = vec![(at(d, 18, 0), at(d, 18, 30)), (at(d, 22, 0), at(d, 22, 15))];
        let w = one(&w);
        assert_eq!((w.span, w.breaks, w.work), (630, 45, 585));
        assert_eq!(w.overtime, 105);
        assert_eq!(w.late_night, 75, "22:00–23:30 less the 15 minutes of break");
        assert!(!w.deemed_break);
    }

    #[test]
    fn work_on_the_legal_day_off_is_holiday_work_only() {
        let sunday = date(2024, 2, 11);
        let w = one(&day(sunday, (9, 0), (20, 0)));
        assert_eq!((w.work, w.holiday_work, w.overtime), (600, 600, 0));
    }

    #[test]
    fn a_past_day_with_one_punch_misses_a_punch_and_works_nothing() {
        let d = date(2024, 2, 8);
        let w = day_work(
            &WorkDay { date: d, clock_in: Some(at(d, 9, 0)), ..WorkDay::default() },
            date(2024, 2, 9),
            &tokyo(),
            WorkRules::default(),
        );
        assert!(w.missing_punch);
        assert_eq!(w.work, 0);
    }

    /// A hand-computed week: Mon–Fri 9:00–18:00 (8 h of work each, 40 h in all), then Saturday
    /// 9:00–14:00 (5 h, no break: all past the week's 40 hours) and Sunday 10:00–13:00 (休日).
    #[test]
    fn the_hours_past_forty_in_a_week_are_overtime_on_the_day_that_passes_them() {
        let monday = date(2024, 2, 5);
        let mut days: Vec<WorkDay> =
            (0..5).map(|i| day(monday.checked_add(jiff::Span::new().days(i)).unwrap(), (9, 0), (18, 0))).collect();
        days.push(day(date(2024, 2, 10), (9, 0), (14, 0)));
        days.push(day(date(2024, 2, 11), (10, 0), (13, 0)));
        let (each, totals) =
            month_totals(&days, date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), &tokyo(), WorkRules::default());
        assert_eq!(each.iter().map(|d| d.overtime).collect::<Vec<_>>(), [0, 0, 0, 0, 0, 300, 0]);
        assert_eq!(totals.days_worked, 7);
        assert_eq!(totals.work, 40 * 60 + 300 + 180);
        assert_eq!(totals.overtime, 300);
        assert_eq!(totals.holiday_work, 180);
        assert_eq!(totals.breaks, 5 * 60);
    }

    #[test]
    fn a_month_s_first_week_counts_the_days_of_the_month_before() {
        // Thursday 2024-02-01 is in the week that starts Sunday 2024-01-28.
        let days: Vec<WorkDay> = [(1, 29), (1, 30), (1, 31), (2, 1), (2, 2), (2, 3)]
            .into_iter()
            .map(|(m, d)| day(date(2024, m, d), (8, 0), (18, 0)))
            .collect();
        let (each, totals) =
            month_totals(&days, date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), &tokyo(), WorkRules::default());
        assert_eq!(each.len(), 3, "January's days are not February's");
        // Each day: 600 of span, 60 of break, 540 of work: 60 past eight hours, 480 within.
        // Within the week: 480 × 3 in January, 1 920 on the 1st, 2 400 on the 2nd, and the 3rd
        // passes 40 hours by 480.
        assert_eq!(each.iter().map(|d| d.overtime).collect::<Vec<_>>(), [60, 60, 60 + 480]);
        assert_eq!(totals.overtime, 660);
    }

    #[test]
    fn alerts_fire_past_45_and_80_hours_and_the_year_s_360() {
        let month = MonthTotals { overtime: 46 * 60, holiday_work: 35 * 60, ..MonthTotals::default() };
        assert_eq!(
            long_hours(&month, 100 * 60),
            [
                LongHours::MonthlyOvertime { minutes: 46 * 60 },
                LongHours::MonthlyOvertimeAndHoliday { minutes: 81 * 60 },
            ]
        );
        let exactly = MonthTotals { overtime: 45 * 60, ..MonthTotals::default() };
        assert_eq!(long_hours(&exactly, 360 * 60), []);
        assert_eq!(long_hours(&exactly, 361 * 60), [LongHours::YearlyOvertime { minutes: 361 * 60 }]);
        assert_eq!(on_pace(20 * 60, 10, 30), 60 * 60);
        assert_eq!(LongHours::MonthlyOvertime { minutes: 46 * 60 + 5 }.label_ja(), "月の時間外 46:05 (45時間超)");
    }

    #[test]
    fn late_night_past_the_eighth_hour_is_late_night_overtime() {
        // 13:00 → 翌 02:00 with no break punched: 13 h of span, 60 of deemed break, 12 h of
        // work; the last 4 h (22:00–02:00) are 時間外 and all late-night.
        let d = date(2024, 2, 8);
        let w = one(&WorkDay {
            date: d,
            clock_in: Some(at(d, 13, 0)),
            clock_out: Some(at(date(2024, 2, 9), 2, 0)),
            ..WorkDay::default()
        });
        assert_eq!((w.work, w.overtime, w.late_night, w.late_night_overtime), (720, 240, 240, 240));
        // 15:00 → 翌 00:00: 9 h of span, 8 of work; no 時間外, 2 h of night.
        let w = one(&WorkDay {
            date: d,
            clock_in: Some(at(d, 15, 0)),
            clock_out: Some(at(date(2024, 2, 9), 0, 0)),
            ..WorkDay::default()
        });
        assert_eq!((w.work, w.overtime, w.late_night, w.late_night_overtime), (480, 0, 120, 0));
    }

    #[test]
    fn a_punched_break_at_the_end_moves_the_overtime_before_it() {
        // 12:00 → 23:30 with a break 22:30–23:00: 11:00 of work; the last 3 h of work are
        // 19:30–22:30 and 23:00–23:30, of which 22:00–22:30 and 23:00–23:30 are night.
        let d = date(2024, 2, 8);
        let mut w = day(d, (12, 0), (23, 30));
        w.breaks = vec![(at(d, 22, 30), at(d, 23, 0))];
        let w = one(&w);
        assert_eq!((w.work, w.overtime, w.late_night, w.late_night_overtime), (660, 180, 60, 60));
    }

    #[test]
    fn late_night_counts_real_minutes_across_a_daylight_saving_change() {
        // New York, 2024-03-10: 02:00 does not exist; 22:00 on the 9th to 05:00 on the 10th is
        // six real hours.
        let ny = TimeZone::get("America/New_York").unwrap();
        let from = ny.to_timestamp(date(2024, 3, 9).at(22, 0, 0, 0)).unwrap();
        let to = ny.to_timestamp(date(2024, 3, 10).at(5, 0, 0, 0)).unwrap();
        assert_eq!(late_night_minutes(from, to, &ny), 360);
        // And on 2024-11-03 the night gains an hour: eight real hours.
        let from = ny.to_timestamp(date(2024, 11, 2).at(22, 0, 0, 0)).unwrap();
        let to = ny.to_timestamp(date(2024, 11, 3).at(5, 0, 0, 0)).unwrap();
        assert_eq!(late_night_minutes(from, to, &ny), 480);
    }

    fn any_day() -> impl Strategy<Value = WorkDay> {
        // A day of February 2024 (a leap month), 出勤 and 退勤 within 36 hours of its 00:00, and
        // up to three breaks anywhere in them.
        (
            1i8..=29,
            0i64..36 * 60,
            0i64..36 * 60,
            proptest::collection::vec((0i64..36 * 60, 0i64..180), 0..3),
            any::<bool>(),
        )
            .prop_map(|(d, a, b, breaks, diverged)| {
                let date = date(2024, 2, d);
                let base = tokyo().to_timestamp(date.at(0, 0, 0, 0)).unwrap();
                let t = |m: i64| base.checked_add(jiff::Span::new().minutes(m)).unwrap();
                let (i, o) = (a.min(b), a.max(b));
                WorkDay {
                    date,
                    clock_in: Some(t(i)),
                    clock_out: Some(t(o)),
                    breaks: breaks.into_iter().map(|(s, len)| (t(s), t(s + len))).collect(),
                    diverged,
                }
            })
    }

    proptest! {
        #[test]
        fn no_part_of_a_day_exceeds_its_span(d in any_day()) {
            let w = one(&d);
            prop_assert_eq!(w.work + w.breaks, w.span);
            prop_assert!(w.work >= 0 && w.breaks >= 0);
            prop_assert!(w.overtime <= w.work && w.late_night <= w.work && w.holiday_work <= w.work);
            prop_assert!(w.overtime == 0 || w.holiday_work == 0);
            prop_assert!(w.late_night_overtime <= w.late_night.min(w.overtime));
        }

        /// The deemed break never leaves more than the law allows unbroken, and never takes
        /// more than needed: a longer span never works less.
        #[test]
        fn the_deemed_break_is_lawful_and_never_shrinks_the_work(span in 0i64..1440, more in 0i64..600) {
            let work = span - statutory_break_minutes(span);
            let b = statutory_break_minutes(span);
            prop_assert!(work <= 360 || b >= 45);
            prop_assert!(work <= 480 || b >= 60);
            let longer = span + more;
            prop_assert!(longer - statutory_break_minutes(longer) >= work);
        }

        /// A month's figures are the sums of its days', whatever order the days come in, and
        /// 時間外 is never below the part past eight hours of each day.
        #[test]
        fn the_month_is_the_sum_of_its_days(mut days in proptest::collection::vec(any_day(), 0..20), seed in any::<u64>()) {
            days.sort_by_key(|d| d.date);
            days.dedup_by_key(|d| d.date);
            let rules = WorkRules::default();
            let (each, totals) = month_totals(&days, date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), &tokyo(), rules);
            let mut shuffled = days.clone();
            let n = shuffled.len().max(1);
            shuffled.rotate_left((seed as usize) % n);
            let (_, again) = month_totals(&shuffled, date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), &tokyo(), rules);
            prop_assert_eq!(totals, again);
            prop_assert_eq!(totals.work, each.iter().map(|d| d.work).sum::<i64>());
            prop_assert_eq!(totals.overtime, each.iter().map(|d| d.overtime).sum::<i64>());
            prop_assert_eq!(totals.divergence_days as usize, each.iter().filter(|d| d.diverged).count());
            for (d, w) in days.iter().zip(&each) {
                let alone = one(d);
                prop_assert!(w.overtime >= alone.overtime);
                prop_assert!(w.overtime <= w.work);
            }
            prop_assert!(totals.overtime + totals.holiday_work <= totals.work);
        }

        /// A day without break punches against a count made minute by minute on the local
        /// clock, with the deemed break found by trying every length: the least that leaves no
        /// more than 6 hours of work unless it is 45 minutes, and no more than 8 unless it is 60.
        #[test]
        fn a_day_agrees_with_a_minute_by_minute_count(
            start in 0i64..(3 * 24 * 60),
            length in 0i64..(30 * 60),
            zone in proptest::sample::select(vec!["Asia/Tokyo", "America/New_York", "Europe/London"]),
        ) {
            let tz = TimeZone::get(zone).unwrap();
            // Around the 2024 spring change in New York and London (a Friday), in whole minutes.
            let base = tz.to_timestamp(date(2024, 3, 8).at(0, 0, 0, 0)).unwrap().as_second();
            let from = Timestamp::from_second(base + start * 60).unwrap();
            let to = Timestamp::from_second(base + (start + length) * 60).unwrap();
            let rules = WorkRules { legal_day_off: Weekday::Wednesday, week_starts: Weekday::Wednesday };
            let day = WorkDay { date: date(2024, 3, 8), clock_in: Some(from), clock_out: Some(to), ..WorkDay::default() };
            let w = day_work(&day, date(2100, 1, 1), &tz, rules);
            let deemed = (0..=60).find(|b| (length - b <= 360 || *b >= 45) && (length - b <= 480 || *b >= 60)).unwrap().min(length);
            let work = length - deemed;
            let overtime = (work - 480).max(0);
            let night = |minute: i64| {
                let local = tz.to_datetime(Timestamp::from_second(from.as_second() + minute * 60).unwrap());
                local.hour() >= 22 || local.hour() < 5
            };
            let all_night = (0..length).filter(|m| night(*m)).count() as i64;
            let last_night = (length - overtime..length).filter(|m| night(*m)).count() as i64;
            prop_assert_eq!((w.span, w.breaks, w.work, w.overtime), (length, deemed, work, overtime));
            prop_assert_eq!(w.late_night, all_night.min(work));
            prop_assert_eq!(w.late_night_overtime, last_night.min(all_night.min(work)));
        }

        /// Split at any minute, a stretch of work has the same late-night minutes in its two
        /// parts as whole.
        #[test]
        fn late_night_minutes_split_anywhere_sum_to_the_whole(a in 0i64..4320, b in 0i64..4320, c in 0i64..4320) {
            let mut m = [a, b, c];
            m.sort();
            let base = tokyo().to_timestamp(date(2024, 2, 8).at(0, 0, 0, 0)).unwrap();
            let t = |x: i64| base.checked_add(jiff::Span::new().minutes(x)).unwrap();
            let tz = tokyo();
            prop_assert_eq!(
                late_night_minutes(t(m[0]), t(m[1]), &tz) + late_night_minutes(t(m[1]), t(m[2]), &tz),
                late_night_minutes(t(m[0]), t(m[2]), &tz)
            );
        }
    }
}
