//! The HTTP surface: public health and metrics, the ops API, and the signed internal API
//! the edge calls.

pub mod dto;
pub mod fees;
pub mod internal;
pub mod ops;
pub mod public;
pub mod sealed;

use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use lasthop_core::api::paths;

use crate::state::AppState;

/// All routes, without the outer middleware (see [`crate::startup::app`]).
pub fn router(state: AppState) -> Router {
    // The signature check wraps each method's handler, not the path: a known internal path
    // with another method answers 405 like every other path, not 401.
    let signed = |route: MethodRouter<AppState>| {
        route.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::verify_edge_signature,
        ))
    };
    let internal = Router::new()
        .route(
            paths::INTERNAL_BUYERS,
            signed(post(internal::register_buyer)),
        )
        .route(
            paths::INTERNAL_BUYER_PROFILE,
            signed(get(internal::buyer_profile)),
        )
        .route(
            paths::INTERNAL_BUYER_ADDRESSES,
            signed(post(internal::add_address)),
        )
        .route(
            paths::INTERNAL_BUYER_ADDRESS,
            signed(put(internal::modify_address)),
        )
        .route(
            paths::INTERNAL_BUYER_ADDRESS_SEALED,
            signed(put(sealed::modify_address)),
        )
        .route(
            paths::INTERNAL_SELLERS,
            signed(post(internal::register_seller)),
        )
        .route(
            paths::INTERNAL_BUYER_QUOTES,
            signed(get(fees::buyer_quotes)),
        )
        .route(paths::INTERNAL_ORDERS, signed(post(internal::create_order)))
        .route(
            paths::INTERNAL_SELLER_ORDERS,
            signed(get(internal::seller_orders)),
        )
        .route(
            paths::INTERNAL_SELLER_ORDER,
            signed(get(internal::seller_order_detail)),
        )
        .route(paths::INTERNAL_INTAKE_KEY, signed(get(sealed::intake_key)))
        .route(
            paths::INTERNAL_BUYERS_SEALED,
            signed(post(sealed::register_buyer)),
        )
        .route(
            paths::INTERNAL_BUYER_ADDRESSES_SEALED,
            signed(post(sealed::add_address)),
        )
        .route(
            paths::INTERNAL_BUYER_PROFILE_SEALED,
            signed(get(sealed::buyer_profile)),
        )
        .route(paths::INTERNAL_RELEASES, signed(post(internal::release)))
        .route(paths::INTERNAL_DELIVERIES, signed(post(internal::deliver)))
        .route(
            paths::INTERNAL_SCANNER_RENEWALS,
            signed(post(internal::renew_scanner)),
        );
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(public::openapi))
        .route("/v1/ops/hubs", post(ops::create_hub))
        .route(
            "/v1/ops/carriers",
            post(ops::create_carrier).get(ops::list_carriers),
        )
        .route(
            "/v1/ops/carriers/{carrier_id}/fees",
            post(fees::import_fee_table).get(fees::fee_table),
        )
        .route(
            "/v1/ops/carriers/{carrier_id}/fees/csv",
            post(fees::import_fee_table_csv),
        )
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
