//! Health, readiness and the OpenAPI document (unauthenticated), and the metrics (ops token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::Ops;
use crate::health::{Health, Readiness};
use crate::routes::dto::ErrorBody;
use crate::state::AppState;

/// Health: 200 while the origin serves (the directory answers), with the vault's state and the
/// temporary table's depth; 503 when the directory does not answer.
#[utoipa::path(get, path = "/healthz", tag = "public",
    responses((status = 200, description = "Serving", body = Health),
              (status = 503, description = "The directory is down", body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match crate::health::health(&state).await {
        Some(health) => axum::Json(health).into_response(),
        None => ApiError::Unavailable("the directory store is unavailable").into_response(),
    }
}

/// Readiness, component by component: 200 when every required one is up, else 503.
#[utoipa::path(get, path = "/readyz", tag = "public",
    responses((status = 200, description = "Ready to serve", body = Readiness),
              (status = 503, description = "A required component is down", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = crate::health::readiness(&state).await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    crate::startup::no_store((status, axum::Json(readiness)).into_response())
}

/// The metrics' content type: OpenMetrics text, which Prometheus scrapes.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus text exposition, for operators: the ops token is required. The series carry no
/// personal data, but traffic and refusal counts by route say how the service is used and
/// attacked, so they are not public.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    security(("ops_token" = [])),
    responses(
        (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 401, description = "unauthorized: no or a wrong ops token", body = ErrorBody),
    ))]
pub async fn metrics(_ops: Ops, State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.metrics().render(),
    )
        .into_response()
}

/// This service's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "public",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
        .into_response()
}
