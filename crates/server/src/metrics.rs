//! `/metrics` in the Prometheus text format: counters of this process, gauges from the database.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub rows_accepted: AtomicU64,
    pub rows_duplicate: AtomicU64,
    pub rows_rejected: AtomicU64,
    pub punches_written: AtomicU64,
    pub ingest_errors: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn render(&self, open_jobs: i64) -> String {
        let mut out = String::new();
        let counters = [
            ("loginrec_ingest_rows_accepted_total", "LanScope rows stored.", &self.rows_accepted),
            ("loginrec_ingest_rows_duplicate_total", "LanScope rows already stored (re-sent).", &self.rows_duplicate),
            ("loginrec_ingest_rows_rejected_total", "LanScope rows refused.", &self.rows_rejected),
            ("loginrec_punches_written_total", "Punches created or moved.", &self.punches_written),
            ("loginrec_ingest_errors_total", "Ingest requests that failed in the data layer.", &self.ingest_errors),
        ];
        for (name, help, value) in counters {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP loginrec_jobs_open Background jobs waiting or running.\n# TYPE loginrec_jobs_open gauge\nloginrec_jobs_open {open_jobs}"
        );
        out
    }
}
