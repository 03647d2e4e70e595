//! 日本の祝日 (Japanese public holidays) for 1980–2099, as 日別データ and the time card show them
//! in 勤務日種別.
//!
//! The 国民の祝日に関する法律 is applied as it stood in each year: fixed days, the Happy Monday
//! days (from 2000 and 2003), the equinoxes by the standard formula, the Olympic moves of 2020
//! and 2021, and the one-off days of the imperial ceremonies (1989, 1990, 1993, 2019).
//!
//! What must stay true:
//! - a date has at most one name, and [`is_holiday`] is exactly `holiday_name(date).is_some()`;
//! - 振替休日 is the first day after a holiday falling on Sunday that is not itself a holiday
//!   (before 2007: the Monday right after it), so it never falls on a Sunday;
//! - 国民の休日 is a day that is not a holiday itself and lies between two holidays (from 1986;
//!   never a Sunday);
//! - outside 1980–2099 nothing is a holiday: the equinox formula holds for those years only.
//!
//! No clock, no table to update: everything is computed from the date.

use jiff::civil::{Date, Weekday};

/// The first year this module knows.
pub const FIRST_YEAR: i16 = 1980;
/// The last year this module knows.
pub const LAST_YEAR: i16 = 2099;

/// The holiday's name (`元日`, `振替休日`, `国民の休日`…), or `None` on any other day.
pub fn holiday_name(date: Date) -> Option<&'static str> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return None;
    }
    if let Some(name) = statutory(date) {
        return Some(name);
    }
    if is_substitute(date) {
        return Some("振替休日");
    }
    if is_sandwiched(date) {
        return Some("国民の休日");
    }
    None
}

pub fn is_holiday(date: Date) -> bool {
    holiday_name(date).is_some()
}

/// Every holiday of a year, in date order (empty outside 1980–2099).
pub fn holidays(year: i16) -> Vec<(Date, &'static str)> {
    let Ok(mut day) = Date::new(year, 1, 1) else { return Vec::new() };
    let mut out = Vec::new();
    while day.year() == year {
        if let Some(name) = holiday_name(day) {
            out.push((day, name));
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

/// 勤務日種別: 平日, 休日 (Saturday, Sunday) or 祝日 with its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayType {
    Weekday,
    Weekend,
    Holiday(&'static str),
}

impl DayType {
    /// A public holiday wins over the weekend: 2024-02-12 (Monday) is 祝日 (振替休日), and so is
    /// a holiday on a Saturday.
    pub fn of(date: Date) -> DayType {
        match holiday_name(date) {
            Some(name) => DayType::Holiday(name),
            None if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) => DayType::Weekend,
            None => DayType::Weekday,
        }
    }

    /// `平日`, `休日` or `祝日 (元日)`.
    pub fn label_ja(self) -> String {
        match self {
            DayType::Weekday => "平日".into(),
            DayType::Weekend => "休日".into(),
            DayType::Holiday(name) => format!("祝日 ({name})"),
        }
    }
}

/// The days the law names (国民の祝日), including the one-off ceremonial days.
fn statutory(date: Date) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let nth_monday = (date.weekday() == Weekday::Monday).then_some((d - 1) / 7 + 1);
    let name = match (m, d) {
        (1, 1) => "元日",
        (1, 15) if y < 2000 => "成人の日",
        (1, _) if y >= 2000 && nth_monday == Some(2) => "成人の日",
        (2, 11) => "建国記念の日",
        (2, 23) if y >= 2020 => "天皇誕生日",
        (2, 24) if y == 1989 => "昭和天皇の大喪の礼",
        (3, _) if d == spring_equinox(y) => "春分の日",
        (4, 29) if y <= 1988 => "天皇誕生日",
        (4, 29) if y <= 2006 => "みどりの日",
        (4, 29) => "昭和の日",
        (5, 1) if y == 2019 => "即位の日",
        (5, 3) => "憲法記念日",
        (5, 4) if y >= 2007 => "みどりの日",
        (5, 5) => "こどもの日",
        (6, 9) if y == 1993 => "皇太子徳仁親王の結婚の儀",
        (7, 20) if (1996..=2002).contains(&y) => "海の日",
        (7, 23) if y == 2020 => "海の日",
        (7, 24) if y == 2020 => "スポーツの日",
        (7, 22) if y == 2021 => "海の日",
        (7, 23) if y == 2021 => "スポーツの日",
        (7, _) if y >= 2003 && y != 2020 && y != 2021 && nth_monday == Some(3) => "海の日",
        (8, 10) if y == 2020 => "山の日",
        (8, 8) if y == 2021 => "山の日",
        (8, 11) if y >= 2016 && y != 2020 && y != 2021 => "山の日",
        (9, 15) if y <= 2002 => "敬老の日",
        (9, _) if y >= 2003 && nth_monday == Some(3) => "敬老の日",
        (9, _) if d == autumn_equinox(y) => "秋分の日",
        (10, 10) if y <= 1999 => "体育の日",
        (10, _) if (2000..=2019).contains(&y) && nth_monday == Some(2) => "体育の日",
        (10, _) if y >= 2022 && nth_monday == Some(2) => "スポーツの日",
        (10, 22) if y == 2019 => "即位礼正殿の儀",
        (11, 3) => "文化の日",
        (11, 12) if y == 1990 => "即位礼正殿の儀",
        (11, 23) => "勤労感謝の日",
        (12, 23) if (1989..=2018).contains(&y) => "天皇誕生日",
        _ => return None,
    };
    Some(name)
}

/// 振替休日: a day that is not a 国民の祝日, after a run of 国民の祝日 that contains a Sunday
/// (from 2007); before 2007 only the day right after a Sunday 国民の祝日.
fn is_substitute(date: Date) -> bool {
    let Ok(mut day) = date.yesterday() else { return false };
    if date.year() < 2007 {
        return day.weekday() == Weekday::Sunday && statutory(day).is_some();
    }
    while statutory(day).is_some() {
        if day.weekday() == Weekday::Sunday {
            return true;
        }
        match day.yesterday() {
            Ok(previous) => day = previous,
            Err(_) => return false,
        }
    }
    false
}

/// 国民の休日: not a 国民の祝日, but the days before and after are (from 1986, never a Sunday).
fn is_sandwiched(date: Date) -> bool {
    if date.year() < 1986 || date.weekday() == Weekday::Sunday {
        return false;
    }
    let before = date.yesterday().ok().and_then(statutory);
    let after = date.tomorrow().ok().and_then(statutory);
    before.is_some() && after.is_some()
}

/// The day of March of 春分の日 (valid 1980–2099).
fn spring_equinox(year: i16) -> i8 {
    equinox_day(20.8431, year)
}

/// The day of September of 秋分の日 (valid 1980–2099).
fn autumn_equinox(year: i16) -> i8 {
    equinox_day(23.2488, year)
}

fn equinox_day(base: f64, year: i16) -> i8 {
    let n = f64::from(year - 1980);
    (base + 0.242194 * n - (n / 4.0).floor()).floor() as i8
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn year_list(year: i16) -> Vec<(String, &'static str)> {
        holidays(year).into_iter().map(|(d, n)| (d.strftime("%m-%d").to_string(), n)).collect()
    }

    fn expected(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn the_holidays_of_2019_match_the_official_list() {
        assert_eq!(
            year_list(2019),
            expected(&[
                ("01-01", "元日"),
                ("01-14", "成人の日"),
                ("02-11", "建国記念の日"),
                ("03-21", "春分の日"),
                ("04-29", "昭和の日"),
                ("04-30", "国民の休日"),
                ("05-01", "即位の日"),
                ("05-02", "国民の休日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-15", "海の日"),
                ("08-11", "山の日"),
                ("08-12", "振替休日"),
                ("09-16", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-14", "体育の日"),
                ("10-22", "即位礼正殿の儀"),
                ("11-03", "文化の日"),
                ("11-04", "振替休日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
    }

    #[test]
    fn the_holidays_of_2020_match_the_official_list_with_the_olympic_moves() {
        assert_eq!(
            year_list(2020),
            expected(&[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-23", "海の日"),
                ("07-24", "スポーツの日"),
                ("08-10", "山の日"),
                ("09-21", "敬老の日"),
                ("09-22", "秋分の日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
    }

    #[test]
    fn the_holidays_of_2024_match_the_official_list() {
        assert_eq!(
            year_list(2024),
            expected(&[
                ("01-01", "元日"),
                ("01-08", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-12", "振替休日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-15", "海の日"),
                ("08-11", "山の日"),
                ("08-12", "振替休日"),
                ("09-16", "敬老の日"),
                ("09-22", "秋分の日"),
                ("09-23", "振替休日"),
                ("10-14", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-04", "振替休日"),
                ("11-23", "勤労感謝の日"),
            ])
        );
    }

    #[test]
    fn the_holidays_of_2025_match_the_official_list() {
        assert_eq!(
            year_list(2025),
            expected(&[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-21", "海の日"),
                ("08-11", "山の日"),
                ("09-15", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-13", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
                ("11-24", "振替休日"),
            ])
        );
    }

    #[test]
    fn the_emperors_birthday_follows_the_reign() {
        assert_eq!(holiday_name(date(1988, 4, 29)), Some("天皇誕生日"));
        assert_eq!(holiday_name(date(1989, 4, 29)), Some("みどりの日"));
        assert_eq!(holiday_name(date(2018, 12, 24)), Some("振替休日"), "12/23 was a Sunday");
        assert_eq!(holiday_name(date(2019, 12, 23)), None);
        assert_eq!(holiday_name(date(2019, 2, 23)), None);
        assert_eq!(holiday_name(date(2023, 2, 23)), Some("天皇誕生日"));
    }

    #[test]
    fn a_day_between_two_holidays_is_a_national_holiday() {
        // 2026: 敬老の日 on Monday 9/21 and 秋分の日 on Wednesday 9/23.
        assert_eq!(holiday_name(date(2026, 9, 22)), Some("国民の休日"));
        // Before みどりの日 moved to 5/4, 5/4 was 国民の休日 on weekdays.
        assert_eq!(holiday_name(date(1990, 5, 4)), Some("国民の休日"));
        assert_eq!(holiday_name(date(1985, 5, 4)), None, "before the rule");
    }

    #[test]
    fn before_2007_only_the_monday_after_a_sunday_holiday_was_substituted() {
        // 2001-09-15 was a Saturday: no substitute on Monday.
        assert_eq!(holiday_name(date(2001, 9, 17)), None);
        // 1995-01-15 (成人の日) was a Sunday.
        assert_eq!(holiday_name(date(1995, 1, 16)), Some("振替休日"));
    }

    #[test]
    fn the_happy_monday_days_moved_when_the_law_did() {
        assert_eq!(holiday_name(date(1999, 1, 15)), Some("成人の日"));
        assert_eq!(holiday_name(date(2000, 1, 10)), Some("成人の日"));
        assert_eq!(holiday_name(date(1995, 7, 20)), None, "海の日 began in 1996");
        assert_eq!(holiday_name(date(2003, 7, 21)), Some("海の日"));
        assert_eq!(holiday_name(date(1999, 10, 11)), Some("振替休日"), "10/10 was a Sunday");
        assert_eq!(holiday_name(date(2021, 10, 11)), None, "スポーツの日 moved to July in 2021");
        assert_eq!(holiday_name(date(2021, 8, 9)), Some("振替休日"), "山の日 2021 was Sunday 8/8");
    }

    #[test]
    fn outside_the_known_years_nothing_is_a_holiday() {
        assert_eq!(holiday_name(date(1979, 1, 1)), None);
        assert_eq!(holiday_name(date(2100, 1, 1)), None);
        assert!(is_holiday(date(2099, 1, 1)));
    }

    #[test]
    fn day_types_put_holidays_before_weekends() {
        assert_eq!(DayType::of(date(2024, 2, 12)), DayType::Holiday("振替休日"));
        assert_eq!(DayType::of(date(2024, 2, 12)).label_ja(), "祝日 (振替休日)");
        assert_eq!(DayType::of(date(2024, 2, 10)), DayType::Weekend);
        assert_eq!(DayType::of(date(2024, 2, 13)).label_ja(), "平日");
        assert_eq!(DayType::of(date(2025, 5, 3)), DayType::Holiday("憲法記念日"), "a Saturday holiday");
    }

    #[test]
    fn every_year_lists_each_date_once() {
        for year in FIRST_YEAR..=LAST_YEAR {
            let list = holidays(year);
            assert!(list.len() >= 12, "{year}: {list:?}");
            assert!(list.windows(2).all(|w| w[0].0 < w[1].0), "{year}");
            assert!(list.iter().all(|(d, n)| holiday_name(*d) == Some(*n)));
        }
    }

    proptest! {
        #[test]
        fn every_date_has_at_most_one_name_and_substitutes_never_fall_on_sunday(offset in 0i64..43_830) {
            let day = date(1980, 1, 1).checked_add(offset.days()).unwrap();
            let name = holiday_name(day);
            prop_assert_eq!(is_holiday(day), name.is_some());
            let listed: Vec<&str> =
                holidays(day.year()).into_iter().filter(|(d, _)| *d == day).map(|(_, n)| n).collect();
            prop_assert!(listed.len() <= 1);
            prop_assert_eq!(listed.first().copied(), name);
            if name == Some("振替休日") {
                prop_assert_ne!(day.weekday(), Weekday::Sunday);
                // It follows a run of holidays that holds a Sunday.
                let mut d = day.yesterday().unwrap();
                let mut saw_sunday = false;
                while is_holiday(d) {
                    saw_sunday |= d.weekday() == Weekday::Sunday;
                    d = d.yesterday().unwrap();
                }
                prop_assert!(saw_sunday, "{day}");
            }
            if name == Some("国民の休日") {
                prop_assert!(is_holiday(day.yesterday().unwrap()) && is_holiday(day.tomorrow().unwrap()));
            }
        }
    }
}
