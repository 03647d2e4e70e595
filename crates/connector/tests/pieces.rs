//! A large file read in pieces lands in the outbox exactly as if it had been read whole:
//! the same rows (keys, lines), the same bad-line reports, the same ignored files.

use std::time::Duration;

use lanscope_connector::folder::{PieceSizes, read_ready_files_with};
use lanscope_connector::outbox::Outbox;
use lanscope_csv::ReadOptions;

async fn outbox_after_reading(
    dir: &std::path::Path,
    pieces: PieceSizes,
) -> (Vec<String>, Vec<(String, i64, String)>, Vec<(String, String)>) {
    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(data.path()).await.unwrap();
    let summary =
        read_ready_files_with(dir, "ABC123", &ReadOptions::default(), Duration::ZERO, &outbox, pieces).await.unwrap();
    assert!(summary.unsettled.is_empty());
    let rows: Vec<String> = outbox
        .next_batch(1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| format!("{}|{}|{:?}|{:?}", r.key, r.user_name, r.source_file, r.source_line))
        .collect();
    let errors = outbox.row_errors().await.unwrap();
    let problems = outbox.file_problems().await.unwrap();
    outbox.close().await;
    (rows, errors, problems)
}

#[tokio::test]
async fn a_file_read_in_small_pieces_gives_the_outbox_of_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = lanscope_simulator::SimConfig::new(30, 3, jiff::civil::date(2024, 2, 5));
    config.seed = 5;
    let sim = lanscope_simulator::simulate(&config);
    for file in &sim.files {
        std::fs::write(dir.path().join(&file.name), &file.bytes).unwrap();
    }
    // Bad rows, quoted line breaks and CRLF across the cuts.
    let bad = "日時,イベント日時,ログオンユーザ名,ログ種類,コンピュータ名\r\n\
               2024/02/09 9:00:00,2024/02/09 9:00:00,tarou,1,\"PC\r\nA\"\r\n\
               2024/02/09 9:00:00,2024/13/09 9:00:00,tarou,2,PC\r\n\
               2024/02/09 9:00:00,2024/02/09 9:01:00,,1,PC\r\n\
               2024/02/09 9:00:00,2024/02/09 9:02:00,SYSTEM,1,PC\r\n\
               2024/02/09 9:00:00,2024/02/09 18:00:00,tarou,2,\"a,\"\"b\"\"\"\r\n";
    std::fs::write(dir.path().join("bad.csv"), encoding_rs::SHIFT_JIS.encode(bad).0).unwrap();
    std::fs::write(dir.path().join("master.csv"), "従業員コード,姓,名,所属コード\r\n0001,a,b,100\r\n").unwrap();

    let whole = outbox_after_reading(dir.path(), PieceSizes::default()).await;
    assert!(whole.0.len() > 100, "the simulation gives many rows");
    assert_eq!(whole.1.len(), 2, "{:?}", whole.1);
    assert_eq!(whole.2.len(), 1);
    for piece_bytes in [1, 97, 1024] {
        let pieces = outbox_after_reading(dir.path(), PieceSizes { large_file_bytes: 1, piece_bytes }).await;
        assert_eq!(pieces, whole, "pieces of {piece_bytes} bytes");
    }
}
