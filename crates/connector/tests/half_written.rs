//! A file whose last line is still being written is not read until the line is whole (or has
//! stayed cut for twenty settle times): read too soon, the cut line gives a row whose last field
//! (the PC name) is cut off, under the same key as the whole row, and the whole row that comes
//! later is taken for a duplicate. Found by `loginrec soak`.

use std::time::{Duration, SystemTime};

use lanscope_connector::folder::read_ready_files;
use lanscope_connector::outbox::Outbox;
use lanscope_csv::ReadOptions;

const FILE: &str = "\
日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名\r
2024/02/09 9:03:00,2024/02/09 9:03:00,tarou,1,1,7,PC-0005\r
2024/02/09 18:40:00,2024/02/09 18:40:00,tarou,2,1,7,PC-0005\r
";

/// The file's mtime set `ago` in the past, as if its writer had stopped then.
fn written(path: &std::path::Path, bytes: &[u8], ago: Duration) {
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - ago).unwrap();
}

async fn pc_names(outbox: &Outbox) -> Vec<String> {
    outbox.next_batch(100).await.unwrap().into_iter().map(|(_, r)| r.computer_name.unwrap_or_default()).collect()
}

#[tokio::test]
async fn a_last_line_without_its_line_break_waits_until_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(data.path()).await.unwrap();
    let path = dir.path().join("kintai_20240209.csv");
    let settle = Duration::from_secs(1);
    let options = ReadOptions::default();
    // Written up to "PC-000" of the last line, then quiet for longer than the settle time.
    let cut = FILE.len() - "5\r\n".len();
    written(&path, &FILE.as_bytes()[..cut], Duration::from_secs(3));
    let summary = read_ready_files(dir.path(), "ABC", &options, settle, &outbox).await.unwrap();
    assert_eq!(summary.unsettled, vec![path.clone()], "the half-written file waits");
    assert!(pc_names(&outbox).await.is_empty(), "nothing of it is queued");
    // The writer finishes the line: the rows carry the whole PC name.
    written(&path, FILE.as_bytes(), Duration::from_secs(3));
    let summary = read_ready_files(dir.path(), "ABC", &options, settle, &outbox).await.unwrap();
    assert!(summary.unsettled.is_empty());
    assert_eq!(pc_names(&outbox).await, vec!["PC-0005", "PC-0005"]);
    outbox.close().await;
}

#[tokio::test]
async fn a_last_line_that_stays_without_a_line_break_is_read_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(data.path()).await.unwrap();
    let path = dir.path().join("kintai_20240209.csv");
    let unterminated = FILE.strip_suffix("\r\n").unwrap();
    written(&path, unterminated.as_bytes(), Duration::from_secs(25));
    let summary =
        read_ready_files(dir.path(), "ABC", &ReadOptions::default(), Duration::from_secs(1), &outbox).await.unwrap();
    assert!(summary.unsettled.is_empty(), "twenty settle times have passed");
    assert_eq!(pc_names(&outbox).await, vec!["PC-0005", "PC-0005"]);
    outbox.close().await;
}
