//! The machine-facing HTTP boundaries: the LanScope ingest API the connector posts to, the
//! KING OF TIME-shaped attendance API, and the operations endpoints. Each answers errors in
//! its own wire shape: [`error::ApiError`] for ingest and operations, `kot::KotError` for the
//! attendance API.

pub(crate) mod error;
pub(crate) mod ingest;
pub(crate) mod kot;
pub(crate) mod ops;
