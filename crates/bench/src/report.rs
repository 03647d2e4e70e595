//! How the benchmarks print a figure against its baseline: the ratio, measured in one run, is
//! what to compare across machines; the goal, when there is one, says whether it holds.

use std::time::Duration;

/// Prints `label: measured / baseline = ratio×`, and whether the ratio is within `goal`.
pub fn print_ratio(label: &str, measured: Duration, baseline: Duration, goal: Option<f64>) {
    let ratio = measured.as_secs_f64() / baseline.as_secs_f64().max(1e-9);
    match goal {
        Some(goal) => {
            println!("  {label}: {ratio:.2}× (goal ≤ {goal}×: {})", if ratio <= goal { "holds" } else { "MISSED" })
        }
        None => println!("  {label}: {ratio:.2}×"),
    }
}

pub fn mib_per_second(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64().max(1e-9)
}
