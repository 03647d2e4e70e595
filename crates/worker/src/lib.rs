//! Work that runs beside the ログイン記録 server, off the request path: the job loop every
//! server process runs ([`jobs`]: the 03:00 勤革時連携, the daily purge, the remote sending
//! rounds), and the client of a remote KING OF TIME-shaped attendance service ([`remote`]:
//! sending the outbox, reading its employees). The HTTP server calls [`remote::sync_employees`]
//! for a 連携実行 started from its screen; nothing here serves HTTP.
#![forbid(unsafe_code)]

pub mod jobs;
pub mod remote;
