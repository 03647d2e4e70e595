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

    let whole =
        outbox_after_reading(dir.path(), PieceSizes { large_file_bytes: u64::MAX, ..PieceSizes::default() }).await;
    assert!(whole.0.len() > 100, "the simulation gives many rows");
    assert_eq!(whole.1.len(), 2, "{:?}", whole.1);
    assert_eq!(whole.2.len(), 1);
    for piece_bytes in [1, 97, 1024] {
        let pieces = outbox_after_reading(dir.path(), PieceSizes { large_file_bytes: 1, piece_bytes }).await;
        assert_eq!(pieces, whole, "pieces of {piece_bytes} bytes");
    }
    assert_eq!(outbox_after_reading(dir.path(), PieceSizes::default()).await, whole, "as the connector reads");
}

/// A large file is decoded as its start suggests while it is read; where the whole file turns
/// out to be in another encoding (here: more than the first MiB is plain ASCII, then come CP932
/// names), it is read again, and the names arrive as they were written.
#[tokio::test]
async fn a_large_file_whose_encoding_shows_only_after_its_start_is_read_in_that_encoding() {
    let dir = tempfile::tempdir().unwrap();
    // The English header LanScope can write, and ASCII names for the first MiB: the start reads
    // as UTF-8.
    let mut text = String::from("RecordTime,EventTime,UserName,LogType,SubManagerNo,AgentNo,ComputerName\r\n");
    let mut line = 2u64;
    while text.len() < (1 << 20) + 4096 {
        text.push_str(&format!("2024/02/09 09:00:00,2024/02/09 09:00:00,user{line:06},1,1,7,PC-{line}\r\n"));
        line += 1;
    }
    for name in ["髙橋", "佐藤", "鈴木①", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木", "松本"]
    {
        text.push_str(&format!("2024/02/09 18:00:00,2024/02/09 18:00:00,{name},2,1,7,営業部-PC\r\n"));
    }
    let bytes = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    std::fs::write(dir.path().join("kintai.csv"), &bytes).unwrap();

    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(data.path()).await.unwrap();
    let pieces = PieceSizes { large_file_bytes: 1, piece_bytes: 64 * 1024 };
    read_ready_files_with(dir.path(), "ABC123", &ReadOptions::default(), Duration::ZERO, &outbox, pieces)
        .await
        .unwrap();
    assert_eq!(outbox.row_errors().await.unwrap(), vec![], "no line is taken for damaged UTF-8");
    let rows = outbox.next_batch(1_000_000).await.unwrap();
    assert_eq!(rows.len() as u64, line - 2 + 12);
    let last: Vec<String> = rows[rows.len() - 12..].iter().map(|(_, r)| r.user_name.clone()).collect();
    assert_eq!(last[..3], ["髙橋", "佐藤", "鈴木①"]);
    assert_eq!(rows.last().unwrap().1.computer_name.as_deref(), Some("営業部-PC"));
    outbox.close().await;
}

/// A large file written again with the same content is not queued again: its pass is rolled
/// back once its hash shows the content already read, and its new mark is kept.
#[tokio::test]
async fn a_large_file_written_again_unchanged_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sim = lanscope_simulator::simulate(&lanscope_simulator::SimConfig::new(10, 2, jiff::civil::date(2024, 2, 5)));
    let file = &sim.files[0];
    let path = dir.path().join(&file.name);
    std::fs::write(&path, &file.bytes).unwrap();
    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(data.path()).await.unwrap();
    let pieces = PieceSizes { large_file_bytes: 1, piece_bytes: 256 };
    let options = ReadOptions::default();
    let read = || read_ready_files_with(dir.path(), "ABC123", &options, Duration::ZERO, &outbox, pieces);
    assert_eq!(read().await.unwrap().files_read, 1);
    let queued = outbox.queued().await.unwrap();
    assert!(queued > 10, "{queued}");

    std::fs::write(&path, &file.bytes).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
    let again = read().await.unwrap();
    assert_eq!((again.files_read, again.rows_queued), (0, 0));
    assert_eq!(outbox.queued().await.unwrap(), queued);
    // The new mark was kept: a third look does not read it at all.
    assert_eq!(read().await.unwrap(), again);
    outbox.close().await;
}
