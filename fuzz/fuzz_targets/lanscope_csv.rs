//! Any bytes in LanScope's folder: the reader answers with records, row errors or a file
//! error, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = lanscope_csv::ReadOptions::default();
    if let Ok(report) = lanscope_csv::read_lanscope_csv(data, &options) {
        for record in &report.records {
            assert!(record.line >= 2, "records start after the header");
        }
    }
});
