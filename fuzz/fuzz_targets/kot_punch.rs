//! Any body posted to the attendance module's `POST /api/v1.0/daily-workings/timerecord/{key}`:
//! the parse and the checks its handler makes before anything is stored (the body as a
//! `PunchRequest`, the date, the time, then the store's `check_punch_moment` in the company's
//! zone, Asia/Tokyo here) refuse it or let it through, and nothing panics.
//!
//! What must stay true of a punch let through: its 勤務日 is within 2000-01-01..=2099-12-31, its
//! instant falls on that day or the day after in Tokyo, its code is one of the four, and the
//! millisecond instant the handler hands the store is judged the same as the instant sent.
#![no_main]

use std::sync::LazyLock;

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use kot_protocol::PunchRequest;
use libfuzzer_sys::fuzz_target;
use loginrec_rules::punch_moment::check_punch_moment;

static TOKYO: LazyLock<TimeZone> = LazyLock::new(|| TimeZone::get("Asia/Tokyo").expect("the Tokyo zone is installed"));

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<PunchRequest>(data) else { return };
    assert!((1..=4).contains(&body.code.0), "code {}", body.code);
    let Ok(day) = body.date.parse::<Date>() else { return };
    let Some(time) = kot_protocol::parse_time(&body.time) else { return };
    let tz = &*TOKYO;
    let verdict = check_punch_moment(day, time, tz);
    // The handler passes `time.as_millisecond()` to the store, which makes it an instant again.
    let stored = Timestamp::from_millisecond(time.as_millisecond())
        .unwrap_or_else(|e| panic!("{time} as milliseconds is no instant, the store would answer 500: {e}"));
    assert_eq!(check_punch_moment(day, stored, tz).is_ok(), verdict.is_ok(), "{time} and {stored} judged alike");
    if verdict.is_ok() {
        assert!((date(2000, 1, 1)..=date(2099, 12, 31)).contains(&day), "勤務日 {day}");
        let local = time.to_zoned_datetime(tz.clone()).date();
        let next = day.checked_add(1.day()).ok();
        assert!(local == day || Some(local) == next, "{time} is {local} in Tokyo, not on {day} or the day after");
    }
});
