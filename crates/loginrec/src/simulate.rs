//! Writing a simulation to a folder, as the LanScope manager would (optionally slowly).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use lanscope_simulator::{SimConfig, Simulation};
use tokio::io::AsyncWriteExt;

pub struct Written {
    pub files: usize,
    pub expected_rows: usize,
    pub simulation: Simulation,
}

pub const EXPECTED_FILE: &str = "expected-punches.csv";

/// Writes the LanScope files into `out`, and the masters and ground truth into `masters_dir`.
pub async fn write(config: &SimConfig, out: &Path, masters_dir: &Path, slow: Duration) -> anyhow::Result<Written> {
    let simulation = lanscope_simulator::try_simulate(config).context("cannot simulate")?;
    tokio::fs::create_dir_all(out).await.with_context(|| format!("cannot create {}", out.display()))?;
    let masters = [
        ("departments.csv", lanscope_simulator::departments_csv(&simulation)),
        ("employees.csv", lanscope_simulator::employees_csv(&simulation)),
        ("links.csv", lanscope_simulator::links_csv(&simulation)),
        (EXPECTED_FILE, lanscope_simulator::expected_punches_csv(&simulation)),
    ];
    for file in &simulation.files {
        let path = out.join(&file.name);
        write_file(&path, &file.bytes, slow).await.with_context(|| format!("cannot write {}", path.display()))?;
    }
    tokio::fs::create_dir_all(masters_dir).await.with_context(|| format!("cannot create {}", masters_dir.display()))?;
    for (name, text) in masters {
        let path = masters_dir.join(name);
        tokio::fs::write(&path, text).await.with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Written { files: simulation.files.len(), expected_rows: simulation.expected.len(), simulation })
}

async fn write_file(path: &Path, bytes: &[u8], slow: Duration) -> std::io::Result<()> {
    let mut file = tokio::fs::File::create(path).await?;
    if slow.is_zero() {
        file.write_all(bytes).await?;
    } else {
        for chunk in bytes.chunks(512) {
            file.write_all(chunk).await?;
            file.flush().await?;
            tokio::time::sleep(slow).await;
        }
    }
    file.sync_all().await
}

/// How a time card export compares with the simulator's ground truth, row by row
/// (`従業員コード,日付,出勤,退勤`; the export's 打刻方法 column is not part of the truth).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    pub matched: usize,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

pub fn compare(expected_csv: &str, timecard_csv: &str) -> Comparison {
    let rows = |text: &str, drop_method: bool| -> std::collections::BTreeSet<String> {
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.trim_end_matches('\r');
                if drop_method {
                    l.rsplit_once(',').map(|(head, _)| head).unwrap_or(l).to_string()
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    let expected = rows(expected_csv, false);
    let actual = rows(timecard_csv, true);
    Comparison {
        matched: expected.intersection(&actual).count(),
        missing: expected.difference(&actual).cloned().collect(),
        extra: actual.difference(&expected).cloned().collect(),
    }
}
