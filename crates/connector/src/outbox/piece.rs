//! A piece of a file as the outbox keeps it: its rows encoded together in one value, written
//! once, with each row's event time and key beside it for the index of waiting keys. A row was
//! a table row of its own before, with its own index entries; writing them cost most of the
//! time spent reading a large file.

use ingest_protocol::IngestRow;
use loginrec_rules::LogKind;
use serde::{Deserialize, Serialize};

/// Bits of a row's id that number it within its piece: a row's id is its piece's id shifted
/// left by these, plus its place in the piece, so ids grow in the order rows were read.
pub(crate) const INDEX_BITS: u32 = 20;

/// The most rows one piece holds (well below what [`INDEX_BITS`] can number).
pub const MAX_PIECE_ROWS: usize = 1 << 16;

/// More than any piece takes uncompressed: [`MAX_PIECE_ROWS`] rows of 4 KiB.
const MAX_PIECE_BYTES: usize = MAX_PIECE_ROWS * 4096;

/// The first byte of an encoded piece: its rows one after the other.
const PLAIN: u8 = 1;
/// The first byte of an encoded piece: its rows one after the other, LZ4-compressed. A row's
/// names repeat from row to row (domain, PC names): compressed, a piece is about a third,
/// which is less for the outbox to write.
const COMPRESSED: u8 = 2;

pub(crate) fn row_id(piece: i64, index: usize) -> i64 {
    (piece << INDEX_BITS) | index as i64
}

pub(crate) fn piece_of(row_id: i64) -> i64 {
    row_id >> INDEX_BITS
}

pub(crate) fn index_of(row_id: i64) -> usize {
    (row_id & ((1 << INDEX_BITS) - 1)) as usize
}

/// The ids a piece's rows can have: `first..end`.
pub(crate) fn id_range(piece: i64) -> (i64, i64) {
    (row_id(piece, 0), row_id(piece + 1, 0))
}

/// A row's key as the index keeps it: the 16 bytes its 32 hex digits stand for.
pub type KeyBytes = [u8; 16];

pub(crate) fn key_bytes(key: &str) -> Option<KeyBytes> {
    let mut bytes = [0u8; 16];
    hex::decode_to_slice(key, &mut bytes).ok()?;
    Some(bytes)
}

/// One row, but the file it came from (kept once for the piece), borrowed from wherever it
/// was read.
#[derive(Serialize)]
pub struct RowFields<'a> {
    pub key: KeyBytes,
    pub user_name: &'a str,
    pub logoff: bool,
    pub event_at_ms: i64,
    pub recorded_at_ms: Option<i64>,
    pub sub_manager_no: Option<&'a str>,
    pub agent_no: Option<&'a str>,
    pub computer_name: Option<&'a str>,
    pub source_line: Option<u64>,
}

/// [`RowFields`] as it is read back; the fields in the same order.
#[derive(Deserialize)]
struct RowIn {
    key: KeyBytes,
    user_name: String,
    logoff: bool,
    event_at_ms: i64,
    recorded_at_ms: Option<i64>,
    sub_manager_no: Option<String>,
    agent_no: Option<String>,
    computer_name: Option<String>,
    source_line: Option<u64>,
}

/// The rows of one piece, encoded, ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedPiece {
    pub(crate) source_file: Option<String>,
    /// Each row's event time and key, in the piece's order.
    pub(crate) keys: Vec<(i64, KeyBytes)>,
    pub(crate) payload: Vec<u8>,
}

/// A row whose key is not the 32 hex digits every key is made of.
#[derive(Debug, thiserror::Error)]
#[error("row key {0:?} is not 32 hex digits")]
pub struct BadKey(pub String);

impl EncodedPiece {
    /// `rows` as pieces: a new piece wherever the file changes, and after [`MAX_PIECE_ROWS`].
    pub fn of_rows(rows: &[IngestRow]) -> Result<Vec<EncodedPiece>, BadKey> {
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let file = &rows[start].source_file;
            let len = rows[start..]
                .iter()
                .take(MAX_PIECE_ROWS)
                .position(|r| &r.source_file != file)
                .unwrap_or_else(|| (rows.len() - start).min(MAX_PIECE_ROWS));
            pieces.push(EncodedPiece::of_one_file(&rows[start..start + len])?);
            start += len;
        }
        Ok(pieces)
    }

    /// Rows of one file (the first row's file is taken for all).
    fn of_one_file(rows: &[IngestRow]) -> Result<EncodedPiece, BadKey> {
        let mut piece = PieceBuilder::new(rows.first().and_then(|r| r.source_file.clone()));
        for row in rows {
            piece.push(&RowFields {
                key: key_bytes(&row.key).ok_or_else(|| BadKey(row.key.clone()))?,
                user_name: &row.user_name,
                logoff: row.kind == LogKind::Logoff,
                event_at_ms: row.event_at_ms,
                recorded_at_ms: row.recorded_at_ms,
                sub_manager_no: row.sub_manager_no.as_deref(),
                agent_no: row.agent_no.as_deref(),
                computer_name: row.computer_name.as_deref(),
                source_line: row.source_line,
            });
        }
        Ok(piece.finish())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A piece being made a row at a time, as a file is read: no row is held but as its encoding.
pub struct PieceBuilder {
    piece: EncodedPiece,
}

impl PieceBuilder {
    pub fn new(source_file: Option<String>) -> PieceBuilder {
        PieceBuilder { piece: EncodedPiece { source_file, keys: Vec::new(), payload: Vec::with_capacity(1 << 16) } }
    }

    pub fn push(&mut self, row: &RowFields<'_>) {
        // Strings, numbers and options only: encoding into a vector cannot fail.
        let payload = std::mem::take(&mut self.piece.payload);
        self.piece.payload = postcard::to_extend(row, payload).expect("a row encodes");
        self.piece.keys.push((row.event_at_ms, row.key));
    }

    /// Whether the piece holds as many rows as a piece may.
    pub fn is_full(&self) -> bool {
        self.piece.len() >= MAX_PIECE_ROWS
    }

    pub fn finish(self) -> EncodedPiece {
        let mut piece = self.piece;
        let mut payload = Vec::with_capacity(1 + 4 + lz4_flex::block::get_maximum_output_size(piece.payload.len()));
        payload.push(COMPRESSED);
        payload.extend_from_slice(&lz4_flex::compress_prepend_size(&piece.payload));
        piece.payload = payload;
        piece
    }
}

/// The rows of a piece written by [`EncodedPiece`], in order.
pub(crate) fn decode(payload: &[u8], source_file: Option<&str>) -> Result<Vec<IngestRow>, String> {
    let Some((&format, rest)) = payload.split_first() else { return Err("empty piece".into()) };
    let plain;
    let mut rest = match format {
        PLAIN => rest,
        COMPRESSED => {
            let (size, compressed) = lz4_flex::block::uncompressed_size(rest).map_err(|e| e.to_string())?;
            // The size is the piece's own word: a damaged one must not make the connector ask
            // for gigabytes.
            if size > MAX_PIECE_BYTES {
                return Err(format!("piece of {size} bytes"));
            }
            plain = lz4_flex::block::decompress(compressed, size).map_err(|e| e.to_string())?;
            &plain[..]
        }
        _ => return Err(format!("piece of unknown format {format}")),
    };
    let mut rows = Vec::new();
    while !rest.is_empty() {
        let (row, after): (RowIn, &[u8]) = postcard::take_from_bytes(rest).map_err(|e| e.to_string())?;
        rest = after;
        rows.push(IngestRow {
            key: hex::encode(row.key),
            user_name: row.user_name,
            kind: if row.logoff { LogKind::Logoff } else { LogKind::Logon },
            event_at_ms: row.event_at_ms,
            recorded_at_ms: row.recorded_at_ms,
            sub_manager_no: row.sub_manager_no,
            agent_no: row.agent_no,
            computer_name: row.computer_name,
            source_file: source_file.map(str::to_string),
            source_line: row.source_line,
        });
    }
    Ok(rows)
}

/// The places of rows left out of a piece (read again while an earlier copy still waits).
pub(crate) fn encode_left_out(indexes: &[usize]) -> Vec<u8> {
    let indexes: Vec<u32> = indexes.iter().map(|&i| i as u32).collect();
    postcard::to_allocvec(&indexes).expect("numbers encode")
}

pub(crate) fn decode_left_out(bytes: Option<&[u8]>) -> Result<Vec<usize>, String> {
    match bytes {
        None => Ok(Vec::new()),
        Some(b) => postcard::from_bytes::<Vec<u32>>(b)
            .map(|v| v.into_iter().map(|i| i as usize).collect())
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, file: Option<&str>, computer_name: Option<&str>) -> IngestRow {
        let mut row = IngestRow::new(
            "ABC",
            "CORP\\佐藤".into(),
            if line.is_multiple_of(2) { LogKind::Logon } else { LogKind::Logoff },
            1_707_469_200_000 + line as i64,
            Some(1_707_469_260_000),
            Some("3".into()),
            None,
            computer_name.map(str::to_string),
        );
        row.source_file = file.map(str::to_string);
        row.source_line = Some(line);
        row
    }

    #[test]
    fn a_piece_gives_back_the_rows_it_was_made_from() {
        let rows = vec![
            row(2, Some("kintai.csv"), Some("営業部-PC01 \"x\",y")),
            row(3, Some("kintai.csv"), None),
            row(4, Some("kintai.csv"), Some("")),
        ];
        let pieces = EncodedPiece::of_rows(&rows).unwrap();
        assert_eq!(pieces.len(), 1);
        let piece = &pieces[0];
        assert_eq!(decode(&piece.payload, piece.source_file.as_deref()).unwrap(), rows);
        assert_eq!(piece.keys[1], (rows[1].event_at_ms, key_bytes(&rows[1].key).unwrap()));
        let as_json: usize = rows.iter().map(|r| serde_json::to_string(r).unwrap().len()).sum();
        assert!(piece.payload.len() * 3 < as_json, "{} bytes against {as_json} as JSON", piece.payload.len());
    }

    #[test]
    fn rows_are_split_into_pieces_by_file_and_size() {
        let mut rows: Vec<IngestRow> = (0..MAX_PIECE_ROWS as u64 + 3).map(|l| row(l, Some("a.csv"), None)).collect();
        rows.push(row(1, Some("b.csv"), None));
        rows.push(row(2, None, None));
        let pieces = EncodedPiece::of_rows(&rows).unwrap();
        let sizes: Vec<(usize, Option<&str>)> = pieces.iter().map(|p| (p.len(), p.source_file.as_deref())).collect();
        assert_eq!(sizes, vec![(MAX_PIECE_ROWS, Some("a.csv")), (3, Some("a.csv")), (1, Some("b.csv")), (1, None)]);
        let back: Vec<IngestRow> =
            pieces.iter().flat_map(|p| decode(&p.payload, p.source_file.as_deref()).unwrap()).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn a_row_id_names_its_piece_and_place() {
        let id = row_id(123_456, MAX_PIECE_ROWS - 1);
        assert_eq!((piece_of(id), index_of(id)), (123_456, MAX_PIECE_ROWS - 1));
        assert!(row_id(7, MAX_PIECE_ROWS - 1) < row_id(8, 0));
        assert_eq!(id_range(7), (row_id(7, 0), row_id(8, 0)));
    }

    #[test]
    fn a_damaged_piece_is_an_error_not_a_panic() {
        let piece = &EncodedPiece::of_rows(&[row(2, None, Some("PC"))]).unwrap()[0];
        for cut in 0..piece.payload.len() {
            let _ = decode(&piece.payload[..cut], None);
        }
        assert!(decode(&piece.payload[..piece.payload.len() - 1], None).is_err());
        assert!(decode(&[9, 1, 2], None).is_err());
    }

    #[test]
    fn a_key_that_is_not_hex_is_refused() {
        let mut bad = row(2, None, None);
        bad.key = "not a key".into();
        assert!(EncodedPiece::of_rows(&[bad]).is_err());
    }
}
