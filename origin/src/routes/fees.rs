//! Fee tables through the ops API: `POST /v1/ops/carriers/{carrier_id}/fees` (JSON), its CSV
//! twin `…/fees/csv?version=&step_grams=` (`text/csv` body) and `GET …/fees[?version=]`.
//! Answers: 201 with the stored table for a new version, 200 for the same table again,
//! 409 `wrong_state` for another table under a stored version, 404 for an unknown carrier.
//! And the buyer's quotes (`GET /internal/v1/buyers/me/quotes`), priced here from the
//! plaintext regions.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lasthop_core::api::{
    fee_version, FeeCsvQuery, FeeTableInput, FeeTableQuery, FeeTableResponse, QuoteQuery,
    QuotesResponse,
};
use lasthop_core::fees::FeeTable;
use lasthop_core::ids::CarrierId;

use crate::auth::BuyerSession;
use crate::error::ApiError;
use crate::extract::{Json, Ops};
use crate::routes::dto::ErrorBody;
use crate::services::fees::{self, Imported};
use crate::startup::no_store;
use crate::state::AppState;

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn carrier(raw: &str) -> Result<CarrierId, ApiError> {
    CarrierId::parse(raw).map_err(|e| ApiError::invalid("carrier_id", e))
}

async fn answer(state: &AppState, table: &FeeTable) -> Result<Response, ApiError> {
    let status = match fees::import(state, table).await? {
        Imported::Stored => StatusCode::CREATED,
        Imported::Unchanged => StatusCode::OK,
    };
    Ok((status, axum::Json(FeeTableResponse::from(table))).into_response())
}

/// Imports one version of a carrier's fee table (JSON).
#[utoipa::path(post, path = "/v1/ops/carriers/{carrier_id}/fees", tag = "ops", security(("ops_token" = [])),
    params(("carrier_id" = CarrierId, Path, description = "The carrier")),
    request_body = FeeTableInput,
    responses((status = 201, description = "A new version, stored", body = FeeTableResponse),
              (status = 200, description = "The same table was imported before; nothing changed", body = FeeTableResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Another table is stored under this version", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn import_fee_table(
    _: Ops,
    State(state): State<AppState>,
    Path(carrier_id): Path<String>,
    Json(body): Json<FeeTableInput>,
) -> Result<Response, ApiError> {
    let table = body.parse(carrier(&carrier_id)?)?;
    answer(&state, &table).await
}

/// Imports one version of a carrier's fee table from CSV: the query names the version and the
/// weight step, the body has an optional header `zone,first_fen,additional_fen` and one line
/// per zone.
#[utoipa::path(post, path = "/v1/ops/carriers/{carrier_id}/fees/csv", tag = "ops", security(("ops_token" = [])),
    params(("carrier_id" = CarrierId, Path, description = "The carrier"), FeeCsvQuery),
    request_body(content = String, content_type = "text/csv",
        example = "zone,first_fen,additional_fen\nsame_district,800,100\nsame_city,900,120\nsame_province,1000,150\nother_province,1200,200\nremote,2000,500\n"),
    responses((status = 201, description = "A new version, stored", body = FeeTableResponse),
              (status = 200, description = "The same table was imported before; nothing changed", body = FeeTableResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Another table is stored under this version", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn import_fee_table_csv(
    _: Ops,
    State(state): State<AppState>,
    Path(carrier_id): Path<String>,
    query: QueryResult<FeeCsvQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let carrier_id = carrier(&carrier_id)?;
    let Query(query) = query.map_err(|_| {
        ApiError::InvalidInput("the query takes `version` and `step_grams` only".to_owned())
    })?;
    let csv =
        std::str::from_utf8(&body).map_err(|_| ApiError::invalid("body", "must be UTF-8 text"))?;
    let table = query.parse(carrier_id, csv)?;
    answer(&state, &table).await
}

/// A carrier's current fee table, or an earlier version.
#[utoipa::path(get, path = "/v1/ops/carriers/{carrier_id}/fees", tag = "ops", security(("ops_token" = [])),
    params(("carrier_id" = CarrierId, Path, description = "The carrier"), FeeTableQuery),
    responses((status = 200, body = FeeTableResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 404, description = "No such carrier, or no table (of that version)", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn fee_table(
    _: Ops,
    State(state): State<AppState>,
    Path(carrier_id): Path<String>,
    query: QueryResult<FeeTableQuery>,
) -> Result<Response, ApiError> {
    let carrier_id = carrier(&carrier_id)?;
    let Query(query) =
        query.map_err(|_| ApiError::InvalidInput("the query takes `version` only".to_owned()))?;
    let version = query
        .version
        .as_deref()
        .map(|raw| fee_version("version", raw))
        .transpose()?;
    let table = fees::table(&state, &carrier_id, version)
        .await?
        .ok_or(ApiError::NotFound("no fee table for this carrier"))?;
    Ok(axum::Json(FeeTableResponse::from(&table)).into_response())
}

/// The calling buyer's fee for each of a seller's carriers, for a parcel of `weight_g` to one
/// of the buyer's addresses. The answer depends on the buyer's region, so it is never cached.
#[utoipa::path(get, path = "/internal/v1/buyers/me/quotes", tag = "internal", security(("session_token" = [])),
    params(QuoteQuery),
    responses((status = 200, body = QuotesResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn buyer_quotes(
    buyer: BuyerSession,
    State(state): State<AppState>,
    query: QueryResult<QuoteQuery>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::InvalidInput(
            "the query takes `seller_id`, `address_id` and `weight_g` only".to_owned(),
        )
    })?;
    let wanted = query.parse()?;
    let region =
        crate::routes::internal::destination(&state, &buyer, &wanted.seller_id, &wanted.address_id)
            .await?;
    let quotes = fees::quotes(&state, &wanted.seller_id, &region, wanted.weight_g).await?;
    let body = QuotesResponse {
        weight_g: wanted.weight_g,
        quotes,
    };
    Ok(no_store(axum::Json(body).into_response()))
}
