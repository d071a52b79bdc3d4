//! The HTTP surface: public health and metrics, the ops API, and the signed internal API
//! the edge calls.

pub mod dto;
pub mod internal;
pub mod ops;
pub mod public;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::state::AppState;

/// All routes, without the outer middleware (see [`crate::startup::app`]).
pub fn router(state: AppState) -> Router {
    let internal = Router::new()
        .route("/internal/v1/buyers", post(internal::register_buyer))
        .route("/internal/v1/buyers/me", get(internal::buyer_profile))
        .route(
            "/internal/v1/buyers/me/addresses",
            post(internal::add_address),
        )
        .route("/internal/v1/sellers", post(internal::register_seller))
        .route("/internal/v1/orders", post(internal::create_order))
        .route("/internal/v1/seller/orders", get(internal::seller_orders))
        .route(
            "/internal/v1/seller/orders/{order_id}",
            get(internal::seller_order_detail),
        )
        .route("/internal/v1/releases", post(internal::release))
        .route("/internal/v1/deliveries", post(internal::deliver))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::verify_edge_signature,
        ));
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(public::openapi))
        .route("/v1/ops/hubs", post(ops::create_hub))
        .route("/v1/ops/scanners", post(ops::issue_scanner))
        .route("/v1/ops/scanners/{scanner_id}", delete(ops::revoke_scanner))
        .route("/v1/ops/audit", get(ops::audit))
        .route(
            "/v1/ops/addresses/{address_id}/rotate",
            post(ops::rotate_address),
        )
        .merge(internal)
        .with_state(state)
}
