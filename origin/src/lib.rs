//! `lasthop-origin`: the origin vault, the only place where a buyer's name, phone and
//! address exist in the clear. An axum + sqlx service on SQLite files by default and on
//! PostgreSQL in production, with two stores under separate credentials: the *directory*
//! (ids, orders, hubs, scanners, releases and their audit; no plaintext personal data) and
//! the *vault* (address and contact records sealed with XChaCha20-Poly1305).
//!
//! Run it with `lasthop-origin keygen --dir keys` and then
//! `lasthop-origin serve --master-keys-file keys/master.keys --ops-token-file keys/ops.token`
//! (see `--help`; every flag has a `LASTHOP_*` environment variable). Test it with
//! `cargo test -p lasthop-origin`: the integration tests run every scenario against SQLite
//! files and against a throwaway PostgreSQL cluster they start themselves.
//!
//! # Layout
//!
//! - [`config`]: flags, environment and the TOML file (in that order of precedence); secrets
//!   that never print.
//! - [`telemetry`]: the JSON log (no personal data).
//! - [`startup`]: [`startup::app`] (the router with its middleware) and [`startup::Application`],
//!   which owns the background tasks and shuts everything down gracefully.
//! - [`audit_chain`]: the audit's hash chain as pure functions (row hash, chain check);
//!   [`audit_export`]: the signed export for auditors and its check.
//! - [`health`]: the readiness report of `/readyz`, component by component.
//! - [`state`]: shared state and the injectable clock.
//! - [`routes`]: handlers — public (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`), ops (`/v1/ops/*`)
//!   and the signed internal API the edge calls (`/internal/v1/*`); [`routes::dto`] has the bodies.
//! - [`auth`]: the edge signature check, buyer/seller sessions and scanner credentials.
//! - [`extract`]: the contract-format JSON extractor and the ops-token check.
//! - [`error`]: [`error::ApiError`], the only error a handler returns.
//! - [`services`]: the logic behind the handlers: the vault's records ([`services::vault`]) and
//!   the chain of custody's releases, deliveries and renewals ([`services::custody`]).
//! - [`records`]: vault record plaintexts and their sealing (AAD = record id + key version).
//! - [`store`]: the directory and vault adapters over `sqlx::Any`, with per-backend migrations;
//!   the vault's primary/standby switch and the temporary table in the directory.
//! - [`flush`]: writes the records waiting in the temporary table into the vault once it is back.
//! - [`outbox`]: pushes scanner revocations to the edge until acknowledged.
//! - [`signing`]: signs origin→edge calls and verifies edge→origin calls (over the core).
//! - [`metrics`]: Prometheus registry held in the state.
//! - [`openapi`]: the OpenAPI document (also checked in at `origin/openapi.json`).
//! - [`commands`]: `keygen`, `edge-secrets`, `provision` and `audit`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))] // test code: a panic is a failure report

pub mod audit_chain;
pub mod audit_export;
pub mod auth;
pub mod commands;
pub mod config;
pub mod error;
pub mod extract;
pub mod flush;
pub mod health;
pub mod metrics;
pub mod numbers;
pub mod openapi;
pub mod outbox;
pub mod records;
pub mod routes;
pub mod services;
pub mod signing;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
