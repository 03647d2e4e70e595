//! Picking up LanScope's files: which CSV files are complete, and reading them into the
//! outbox. A file is read only when its size and mtime have not changed for the settle time,
//! and, on Windows, when no one has it open for writing; and again whenever its content
//! changes. Files are opened read-only and never changed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ingest_protocol::IngestRow;
use lanscope_csv::{
    EncodingSniffer, FileEncoding, Layout, LogRow, ReadOptions, ReadReport, RowsRead, SegmentSink, SegmentsError,
    read_lanscope_csv, read_rows_in_segments,
};
use sha2::{Digest, Sha256};

use crate::outbox::piece::{PieceBuilder, RowFields};
use crate::outbox::{EncodedPiece, FileMark, FileRead, Outbox};

#[derive(Clone, Debug)]
pub struct Candidate {
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

impl Candidate {
    fn mark(&self, sha256: String) -> FileMark {
        FileMark { size: self.size as i64, mtime_ns: mtime_ns(self.modified), sha256 }
    }
}

fn mtime_ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// The `*.csv` files directly inside `dir`.
pub fn list_csv_files(dir: &Path) -> std::io::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let is_csv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if !is_csv {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        out.push(Candidate { path, size: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH) });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    pub files_read: usize,
    pub rows_queued: u64,
    /// Files that are still changing and will be looked at again.
    pub unsettled: Vec<PathBuf>,
}

/// Reads every complete, new or changed CSV file of the folder into the outbox.
pub async fn read_ready_files(
    dir: &Path,
    company_code: &str,
    options: &ReadOptions,
    settle: Duration,
    outbox: &Outbox,
) -> anyhow::Result<ScanSummary> {
    read_ready_files_with(dir, company_code, options, settle, outbox, PieceSizes::default()).await
}

/// When a file is read in pieces rather than whole (see [`read_large_file`]).
#[derive(Clone, Copy, Debug)]
pub struct PieceSizes {
    /// Files at least this large are read in pieces: by default every file. Reading a file
    /// whole stays as the reference the pieces are held to (`tests/pieces.rs`).
    pub large_file_bytes: u64,
    /// About how much of such a file is held in memory at once.
    pub piece_bytes: usize,
}

impl Default for PieceSizes {
    /// Every file in pieces: read whole, each row became a record, then an `IngestRow` with its
    /// key as text, then a piece's entry; in pieces it goes from the file to the piece's entry
    /// directly. A company's day of two 19 MB files reached the server 7.1–7.2 s → 6.4–6.5 s
    /// end to end (`loginrec-bench end-to-end`), and no file is held in memory whole.
    fn default() -> Self {
        PieceSizes { large_file_bytes: 0, piece_bytes: 512 * 1024 }
    }
}

/// How many settle times a file whose last line has no line break is left alone: a minute with
/// the default three seconds, as long as `run --once` waits for a file.
pub const UNTERMINATED_SETTLE_FACTOR: u32 = 20;

/// Whether the file is empty or ends with a line break.
fn ends_with_line_break(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(matches!(last[0], b'\n' | b'\r'))
}

/// [`read_ready_files`] with explicit piece sizes.
pub async fn read_ready_files_with(
    dir: &Path,
    company_code: &str,
    options: &ReadOptions,
    settle: Duration,
    outbox: &Outbox,
    pieces: PieceSizes,
) -> anyhow::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let candidates = list_csv_files(dir).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
    for candidate in candidates {
        let key = candidate.path.display().to_string();
        let known = outbox.file_mark(&key).await?;
        if known.as_ref().is_some_and(|m| m.size == candidate.size as i64 && m.mtime_ns == mtime_ns(candidate.modified))
        {
            continue;
        }
        let age = SystemTime::now().duration_since(candidate.modified).unwrap_or(Duration::ZERO);
        if age < settle {
            summary.unsettled.push(candidate.path.clone());
            continue;
        }
        // A last line without its line break is most likely still being written: read now, it
        // would give a row with a cut-off last field (a PC name) under the same key as the whole
        // row, and the whole row would then be a duplicate. It is waited for longer, and read as
        // it is once it has stayed so (some exporters end the last line without a break).
        if age < settle * UNTERMINATED_SETTLE_FACTOR && !ends_with_line_break(&candidate.path).unwrap_or(true) {
            tracing::debug!(file = %key, "A LanScope file's last line has no line break yet.");
            summary.unsettled.push(candidate.path.clone());
            continue;
        }
        if candidate.size >= pieces.large_file_bytes {
            match read_large_file(&candidate, &key, known.as_ref(), company_code, options, outbox, pieces).await? {
                LargeFile::Unsettled => summary.unsettled.push(candidate.path.clone()),
                LargeFile::Unchanged => {}
                LargeFile::Read { added } => {
                    summary.files_read += 1;
                    summary.rows_queued += added;
                }
            }
            continue;
        }
        let bytes = match read_if_complete(&candidate.path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                tracing::debug!(file = %key, "A LanScope file is still open for writing.");
                summary.unsettled.push(candidate.path.clone());
                continue;
            }
            Err(e) => {
                tracing::warn!(file = %key, error = %e, "Cannot read a LanScope file yet; will retry.");
                summary.unsettled.push(candidate.path.clone());
                continue;
            }
        };
        // A writer that was still at work shows as a changed size or mtime after the read.
        let after = std::fs::metadata(&candidate.path).ok();
        if after.as_ref().is_none_or(|m| m.len() != candidate.size || m.modified().ok() != Some(candidate.modified)) {
            summary.unsettled.push(candidate.path.clone());
            continue;
        }
        let mark = candidate.mark(hex::encode(Sha256::digest(&bytes)));
        if known.as_ref().is_some_and(|m| m.sha256 == mark.sha256) {
            outbox.touch_file(&key, &mark).await?;
            continue;
        }
        let file_name = candidate.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let read = parse_file(&bytes, &file_name, company_code, options);
        if let Some(problem) = &read.problem {
            tracing::warn!(file = %key, problem = %problem, "Ignored a file that is not LanScope output.");
        }
        for (line, message) in &read.row_errors {
            tracing::warn!(file = %key, line, message = %message, "Skipped a bad CSV row.");
        }
        let added = outbox.record_file(&key, &mark, &read).await?;
        tracing::info!(file = %key, rows = read.rows.len(), new = added, skipped = read.skipped, errors = read.row_errors.len(), "Read a LanScope file.");
        summary.files_read += 1;
        summary.rows_queued += added;
    }
    Ok(summary)
}

/// The whole file, or `None` while a writer still has it open where the system can tell.
///
/// On Windows the file is opened sharing reading only: while another process holds it open
/// for writing, that open fails with a sharing violation; once it succeeds, no writer can
/// open the file until it has been read.
#[cfg(windows)]
pub fn read_if_complete(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    let Some(mut file) = open_if_complete(path)? else { return Ok(None) };
    let mut bytes = Vec::new();
    match file.read_to_end(&mut bytes) {
        Ok(_) => Ok(Some(bytes)),
        Err(e) if e.raw_os_error() == Some(ERROR_LOCK_VIOLATION) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole file. Elsewhere than on Windows a writer cannot be seen; the settle time and the
/// size and mtime check after the read stand for it.
#[cfg(not(windows))]
pub fn read_if_complete(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    std::fs::read(path).map(Some)
}

/// The file opened for reading, or `None` while a writer has it open (Windows; see
/// [`read_if_complete`]).
#[cfg(windows)]
pub fn open_if_complete(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_SHARE_READ: u32 = 0x0000_0001;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    match std::fs::OpenOptions::new().read(true).share_mode(FILE_SHARE_READ).open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if matches!(e.raw_os_error(), Some(ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(not(windows))]
pub fn open_if_complete(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    std::fs::File::open(path).map(Some)
}

enum LargeFile {
    Unsettled,
    Unchanged,
    Read { added: u64 },
}

fn unchanged_since(candidate: &Candidate) -> bool {
    std::fs::metadata(&candidate.path)
        .ok()
        .is_some_and(|m| m.len() == candidate.size && m.modified().ok() == Some(candidate.modified))
}

/// Reads a large file with the memory of a piece, in one pass: its pieces, cut at record
/// boundaries, go into one outbox transaction while the same bytes are hashed and their
/// encoding decided. The transaction is committed only when the whole file was read and did not
/// change meanwhile, its content is not the one read last time, and its encoding is the one the
/// pieces were decoded in (guessed from its start; where the whole file says otherwise, it is
/// read again). The outcome is that of reading it whole: the same rows, errors and line numbers.
async fn read_large_file(
    candidate: &Candidate,
    key: &str,
    known: Option<&FileMark>,
    company_code: &str,
    options: &ReadOptions,
    outbox: &Outbox,
    pieces: PieceSizes,
) -> anyhow::Result<LargeFile> {
    let file_name = candidate.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut encoding = None;
    // A second pass only when the guess was wrong; a third would mean the file keeps changing.
    for _ in 0..2 {
        let (send, mut receive) = tokio::sync::mpsc::channel::<Piece>(1);
        let (path, options_owned, piece_bytes) = (candidate.path.clone(), options.clone(), pieces.piece_bytes);
        let (company, name) = (company_code.to_string(), file_name.clone());
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Pass>> {
            let Some(file) = open_if_complete(&path)? else { return Ok(None) };
            let mut source = HashingReader::start(std::io::BufReader::with_capacity(1 << 20, file), encoding)?;
            let guessed = source.guessed;
            let mut sink = PieceSink::new(&company, &name, send);
            let problem =
                problem_of(read_rows_in_segments(&mut source, guessed, &options_owned, piece_bytes, &mut sink))?;
            // The rest of a file given up on still counts in its hash and its encoding.
            std::io::copy(&mut source, &mut std::io::sink())?;
            let (sha256, found) = source.finish();
            Ok(Some(Pass { sha256, guessed, found, problem }))
        });
        let mut file = outbox.begin_file(key).await?;
        let (mut layout, mut skipped, mut rows, mut errors) = (None, 0u64, 0usize, 0usize);
        while let Some(piece) = receive.recv().await {
            layout = Some(layout_name(piece.layout));
            skipped += piece.skipped;
            rows += piece.rows.iter().map(EncodedPiece::len).sum::<usize>();
            errors += piece.row_errors.len();
            for (line, message) in &piece.row_errors {
                tracing::warn!(file = %key, line, message = %message, "Skipped a bad CSV row.");
            }
            file.add_pieces(&piece.rows, &piece.row_errors).await?;
        }
        let pass = match reader.await? {
            Ok(Some(pass)) => pass,
            Ok(None) => return Ok(LargeFile::Unsettled),
            Err(e) => {
                tracing::warn!(file = %key, error = %e, "Cannot read a LanScope file yet; will retry.");
                return Ok(LargeFile::Unsettled);
            }
        };
        // A writer that was at work meanwhile: nothing of this read is kept.
        if !unchanged_since(candidate) {
            return Ok(LargeFile::Unsettled);
        }
        let mark = candidate.mark(pass.sha256);
        if known.is_some_and(|m| m.sha256 == mark.sha256) {
            drop(file);
            outbox.touch_file(key, &mark).await?;
            return Ok(LargeFile::Unchanged);
        }
        if pass.found != pass.guessed {
            tracing::info!(file = %key, "A large LanScope file is read again in the encoding its whole content shows.");
            encoding = Some(pass.found);
            continue;
        }
        if let Some(problem) = pass.problem {
            drop(file);
            let problem = format!("{file_name}: {problem}");
            tracing::warn!(file = %key, problem = %problem, "Ignored a file that is not LanScope output.");
            let read = FileRead { problem: Some(problem), ..FileRead::default() };
            outbox.record_file(key, &mark, &read).await?;
            return Ok(LargeFile::Read { added: 0 });
        }
        let added = file.finish(&mark, layout, skipped, None).await?;
        tracing::info!(file = %key, rows, new = added, skipped, errors, "Read a LanScope file.");
        return Ok(LargeFile::Read { added });
    }
    Ok(LargeFile::Unsettled)
}

/// Why a file read to its end is not LanScope output, if it is not. A failure to read it (a lock
/// taken meanwhile, a network share gone) is not a property of the file: it is read again later,
/// where marking it as not LanScope output would leave its rows unread until it changed.
fn problem_of<T, E>(read: Result<T, SegmentsError<E>>) -> std::io::Result<Option<String>> {
    match read {
        Ok(_) => Ok(None),
        Err(SegmentsError::File(e)) => Ok(Some(e.to_string())),
        Err(SegmentsError::Io(e)) => Err(e),
        Err(SegmentsError::Handler(_)) => Err(std::io::Error::other("the outbox stopped taking the file's pieces")),
    }
}

/// What one pass over a large file found besides its rows.
struct Pass {
    sha256: String,
    /// The encoding its pieces were decoded in.
    guessed: FileEncoding,
    /// The encoding the whole file is in.
    found: FileEncoding,
    /// Why the file is not LanScope output, if it is not.
    problem: Option<String>,
}

/// How much of a file's start decides the encoding its pieces are decoded in, before the whole
/// file has been seen.
const GUESS_BYTES: usize = 1 << 20;

/// A file's bytes as they are read, hashed and looked at for their encoding on the way.
struct HashingReader<R> {
    source: std::io::Chain<std::io::Cursor<Vec<u8>>, R>,
    hasher: Sha256,
    sniffer: EncodingSniffer,
    guessed: FileEncoding,
}

impl<R: std::io::Read> HashingReader<R> {
    /// Reads the file's start to guess its encoding, unless `encoding` is already known.
    fn start(mut source: R, encoding: Option<FileEncoding>) -> std::io::Result<HashingReader<R>> {
        use std::io::Read;
        let mut start = Vec::with_capacity(GUESS_BYTES);
        (&mut source).take(GUESS_BYTES as u64).read_to_end(&mut start)?;
        let guessed = encoding.unwrap_or_else(|| {
            let mut sniffer = EncodingSniffer::default();
            sniffer.feed(&start);
            sniffer.finish()
        });
        let source = std::io::Cursor::new(start).chain(source);
        Ok(HashingReader { source, hasher: Sha256::new(), sniffer: EncodingSniffer::default(), guessed })
    }

    /// The hash of every byte read and the encoding they are in.
    fn finish(self) -> (String, FileEncoding) {
        (hex::encode(self.hasher.finalize()), self.sniffer.finish())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.source.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.sniffer.feed(&buf[..n]);
        Ok(n)
    }
}

/// What one piece of a large file gave, in the outbox's form.
struct Piece {
    layout: Layout,
    rows: Vec<EncodedPiece>,
    row_errors: Vec<(u64, String)>,
    skipped: u64,
}

/// Encodes the rows of a piece as they are read, and hands the piece on in the outbox's form:
/// the encoding is done on the reading thread, so that the outbox's thread only writes.
struct PieceSink<'a> {
    company_code: &'a str,
    file_name: &'a str,
    building: PieceBuilder,
    done: Vec<EncodedPiece>,
    send: tokio::sync::mpsc::Sender<Piece>,
}

impl<'a> PieceSink<'a> {
    fn new(company_code: &'a str, file_name: &'a str, send: tokio::sync::mpsc::Sender<Piece>) -> PieceSink<'a> {
        PieceSink {
            company_code,
            file_name,
            building: PieceBuilder::new(Some(file_name.to_string())),
            done: Vec::new(),
            send,
        }
    }

    fn cut(&mut self) {
        let next = PieceBuilder::new(Some(self.file_name.to_string()));
        let piece = std::mem::replace(&mut self.building, next).finish();
        if !piece.is_empty() {
            self.done.push(piece);
        }
    }
}

impl SegmentSink for PieceSink<'_> {
    type Error = tokio::sync::mpsc::error::SendError<Piece>;

    fn row(&mut self, row: LogRow<'_>) {
        let event_at_ms = row.event_at.as_millisecond();
        self.building.push(&RowFields {
            key: loginrec_rules::idempotency_key_bytes(
                self.company_code,
                row.user_name,
                row.kind,
                event_at_ms,
                row.sub_manager_no,
                row.agent_no,
            ),
            user_name: row.user_name,
            logoff: row.kind == loginrec_rules::LogKind::Logoff,
            event_at_ms,
            recorded_at_ms: row.recorded_at.map(|t| t.as_millisecond()),
            sub_manager_no: row.sub_manager_no,
            agent_no: row.agent_no,
            computer_name: row.computer_name,
            source_line: Some(row.line),
        });
        if self.building.is_full() {
            self.cut();
        }
    }

    fn end_segment(&mut self, read: RowsRead) -> Result<(), Self::Error> {
        self.cut();
        let piece = Piece {
            layout: read.layout,
            rows: std::mem::take(&mut self.done),
            row_errors: read.errors.iter().map(|e| (e.line, format!("{}: {e}", self.file_name))).collect(),
            skipped: read.skipped_system + read.skipped_other_types,
        };
        self.send.blocking_send(piece)
    }
}

/// The row sent to the server for a row of a file.
fn ingest_row(row: &LogRow<'_>, file_name: &str, company_code: &str) -> IngestRow {
    let mut ingest = IngestRow::new(
        company_code,
        row.user_name.to_string(),
        row.kind,
        row.event_at.as_millisecond(),
        row.recorded_at.map(|t| t.as_millisecond()),
        row.sub_manager_no.map(str::to_string),
        row.agent_no.map(str::to_string),
        row.computer_name.map(str::to_string),
    );
    ingest.source_file = Some(file_name.to_string());
    ingest.source_line = Some(row.line);
    ingest
}

/// Parses one file into outbox rows (pure).
pub fn parse_file(bytes: &[u8], file_name: &str, company_code: &str, options: &ReadOptions) -> FileRead {
    match read_lanscope_csv(bytes, options) {
        Err(e) => FileRead { problem: Some(format!("{file_name}: {e}")), ..FileRead::default() },
        Ok(report) => report_to_rows(report, file_name, company_code),
    }
}

/// The outbox rows of what the reader found (pure).
pub fn report_to_rows(report: ReadReport, file_name: &str, company_code: &str) -> FileRead {
    FileRead {
        layout: Some(layout_name(report.layout).into()),
        rows: report
            .records
            .iter()
            .map(|r| {
                let row = LogRow {
                    line: r.line,
                    user_name: &r.user_name,
                    kind: r.kind,
                    event_at: r.event_at,
                    recorded_at: r.recorded_at,
                    sub_manager_no: r.sub_manager_no.as_deref(),
                    agent_no: r.agent_no.as_deref(),
                    computer_name: r.computer_name.as_deref(),
                };
                ingest_row(&row, file_name, company_code)
            })
            .collect(),
        row_errors: report.errors.iter().map(|e| (e.line, format!("{file_name}: {e}"))).collect(),
        skipped: report.skipped_system + report.skipped_other_types,
        problem: None,
    }
}

fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Events => "events",
        Layout::DailySummary => "summary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_read_to_its_end_is_read_again_not_marked_as_foreign() {
        let failed: Result<(), SegmentsError<()>> = Err(SegmentsError::Io(std::io::Error::from_raw_os_error(33)));
        assert!(problem_of(failed).is_err(), "an I/O failure is retried");
        let foreign: Result<(), SegmentsError<()>> = Err(SegmentsError::File(lanscope_csv::ReadError::Empty));
        assert!(problem_of(foreign).unwrap().is_some(), "a file that is not LanScope output is reported as such");
        assert_eq!(problem_of::<(), ()>(Ok(())).unwrap(), None);
    }
}
