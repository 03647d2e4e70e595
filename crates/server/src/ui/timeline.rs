//! The month timeline of one employee, drawn as SVG on the server (no script): a row per day,
//! the PC's use as bars from each logon to the logoff after it, the day's 出勤 and 退勤 as
//! markers, and the days flagged for 乖離 shaded.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use loginrec_store::TimecardRow;

use crate::format::{hours_minutes, weekday_ja};

const LABEL: f64 = 80.0;
/// The day's row spans 00:00 to 30:00 (06:00 the next morning), so a night shift stays on its row.
const HOURS: f64 = 30.0;
const HOUR: f64 = 20.0;
const ROW: f64 = 16.0;
const TOP: f64 = 20.0;

/// The SVG of the month `[first, last]`: `pc` is each day's logs in time order (time in ms,
/// whether a logon), `punches` the time card's days, `diverged` the days flagged for 乖離.
pub(crate) fn month_timeline(
    first: Date,
    last: Date,
    tz: &TimeZone,
    pc: &BTreeMap<Date, Vec<(i64, bool)>>,
    punches: &[TimecardRow],
    diverged: &BTreeSet<Date>,
) -> String {
    let days: Vec<Date> = std::iter::successors(Some(first), |d| d.tomorrow().ok().filter(|n| *n <= last)).collect();
    let width = LABEL + HOURS * HOUR + 10.0;
    let height = TOP + days.len() as f64 * ROW + 6.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" role=\"img\" aria-label=\"PC の使用と打刻 (月)\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\" font-family=\"sans-serif\">"
    );
    for hour in (0..=30).step_by(3) {
        let x = LABEL + f64::from(hour) * HOUR;
        svg.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{y2}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"{ty}\" \
             text-anchor=\"middle\" fill=\"#666\">{hour}:00</text>",
            y2 = height - 6.0,
            ty = TOP - 6.0
        ));
    }
    for (i, day) in days.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let Ok(start) = tz.to_timestamp(day.to_datetime(Time::midnight())) else { continue };
        let x = |ms: i64| {
            let hours = (ms - start.as_millisecond()) as f64 / 3_600_000.0;
            LABEL + hours.clamp(0.0, HOURS) * HOUR
        };
        let flagged = diverged.contains(day);
        svg.push_str(&format!("<g class=\"day{}\" data-date=\"{day}\">", if flagged { " diverged" } else { "" }));
        if flagged {
            svg.push_str(&format!(
                "<rect class=\"divergence\" x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{ROW}\" fill=\"#fde2e0\"><title>乖離</title></rect>"
            ));
        }
        svg.push_str(&format!(
            "<text x=\"4\" y=\"{ty}\"{fill}>{}({})</text>",
            day.strftime("%m/%d"),
            weekday_ja(*day),
            ty = y + ROW - 4.0,
            fill = if flagged { " fill=\"#c0392b\"" } else { "" }
        ));
        // Each logon to the logoff after it; a logon without one is a short mark.
        let mut open: Option<i64> = None;
        for &(at, logon) in pc.get(day).map(Vec::as_slice).unwrap_or(&[]) {
            match (logon, open) {
                (true, None) => open = Some(at),
                (false, Some(from)) => {
                    svg.push_str(&session(x(from), x(at), y, from, at, tz));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(from) = open {
            svg.push_str(&session(x(from), x(from) + 3.0, y, from, from, tz));
        }
        let row = punches.iter().find(|p| p.business_date == *day);
        for (punch, class, color, label) in [
            (row.and_then(|r| r.clock_in.as_ref()), "clock-in", "#1e8449", "出勤"),
            (row.and_then(|r| r.clock_out.as_ref()), "clock-out", "#7d3c98", "退勤"),
        ] {
            let Some(p) = punch else { continue };
            let px = x(p.at_ms);
            svg.push_str(&format!(
                "<path class=\"{class}\" d=\"M{l:.1} {top:.1} L{r:.1} {top:.1} L{px:.1} {bottom:.1} Z\" fill=\"{color}\">\
                 <title>{label} {} {}</title></path>",
                p.method,
                time_of(p.at_ms, tz),
                l = px - 4.0,
                r = px + 4.0,
                top = y + 1.0,
                bottom = y + ROW - 2.0,
            ));
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

fn session(x1: f64, x2: f64, y: f64, from: i64, to: i64, tz: &TimeZone) -> String {
    format!(
        "<rect class=\"pc\" x=\"{x1:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#5dade2\">\
         <title>PC {}–{} ({})</title></rect>",
        time_of(from, tz),
        time_of(to, tz),
        hours_minutes((to - from) / 60_000),
        top = y + 4.0,
        w = (x2 - x1).max(1.0),
        h = ROW - 8.0,
    )
}

fn time_of(ms: i64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| tz.to_datetime(t).strftime("%H:%M").to_string()).unwrap_or_default()
}
