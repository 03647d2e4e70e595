//! Holds only tests: `tests/public_client.rs` drives the attendance module's `/api/v1.0` with
//! the request and answer types of the published `kingtime` client, so a shape that drifts from
//! what KING OF TIME clients expect fails there.
#![forbid(unsafe_code)]
