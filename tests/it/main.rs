//! The crate's integration tests in one test binary (one link step instead of one per file). The log-hygiene
//! test (`tests/logging.rs`) is its own binary: it installs the process-wide TRACE subscriber and `log` bridge,
//! which would capture every other test's lines here.
//!
//! Each module is one area; `support` holds the helpers they share (and the generated per-endpoint tests use).
//! Modules that need an optional feature are compiled with it (`.ci/run` and the README's test command enable
//! all features).

mod support;

mod architecture;

mod callback_crypto;
mod callback_events;
#[cfg(all(feature = "axum", feature = "redis"))]
mod callback_queue;
#[cfg(all(feature = "axum", feature = "redis"))]
mod callback_queue_fleet;
#[cfg(feature = "axum")]
mod callback_router;
mod endpoints;
mod error_classes;
#[cfg(feature = "redis")]
mod fleet;
mod limits;
#[cfg(feature = "redis")]
mod limits_fleet;
#[cfg(feature = "redis")]
mod limits_procs;
mod openapi;
mod paging;
mod requests;
mod retries;
mod runtime;
mod standin_customers;
mod standin_world;
#[cfg(feature = "service")]
mod suite;
#[cfg(all(feature = "redis", feature = "service"))]
mod suite_fleet;
mod trial;
