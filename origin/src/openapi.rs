//! The OpenAPI document of the origin, generated from the handlers' annotations. It is
//! served at `/openapi.json` and checked in at `origin/openapi.json`; a test fails when the
//! two differ (regenerate with `LASTHOP_BLESS=1 cargo test -p lasthop-origin openapi`). The
//! bodies are the core's `api` DTOs, whose schemas the core derives (feature `openapi`), so
//! this document and the edge's describe the same types.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref};
use utoipa::{Modify, OpenApi};

use crate::routes::{dto, fees, internal, ops, public, sealed};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "lasthop origin", description = "The origin vault: ops API, internal edge API, health and metrics."),
    paths(
        public::healthz, public::readyz, public::metrics, public::openapi,
        ops::create_carrier, ops::list_carriers, fees::import_fee_table, fees::import_fee_table_csv, fees::fee_table, ops::create_hub, ops::issue_scanner, ops::revoke_scanner, ops::audit, ops::rotate_address,
        internal::register_buyer, internal::add_address, internal::modify_address, internal::buyer_profile, internal::register_seller,
        internal::create_order, fees::buyer_quotes, internal::seller_orders, internal::seller_order_detail, internal::release, internal::deliver, internal::renew_scanner,
        sealed::intake_key, sealed::register_buyer, sealed::add_address, sealed::modify_address, sealed::buyer_profile,
    ),
    components(schemas(dto::ErrorBody)),
    modifiers(&Security, &MiddlewareStatuses),
    tags(
        (name = "public", description = "Unauthenticated"),
        (name = "ops", description = "Operators; `Authorization: Bearer <ops token>`"),
        (name = "internal", description = "Edge to origin; HMAC-signed with the `x-lasthop-*` headers, buyer and seller acts also carry the user's bearer token"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ops_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Statuses the middleware answers around any handler, added to each operation that can meet
/// them, so the document names every status a route can answer without each handler's
/// annotation repeating them:
/// - 401 on every signed internal route (the edge signature is checked first) and on every
///   route with a security requirement;
/// - 400 (a body that is not the operation's JSON) and 413 (over 64 KiB) on every route with
///   a request body;
/// - 503 with `Retry-After` on every route that reads a store (all but `/openapi.json`).
struct MiddlewareStatuses;

impl Modify for MiddlewareStatuses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;

        fn add(operation: &mut Operation, status: &str, description: &str, retry_after: bool) {
            if operation.responses.responses.contains_key(status) {
                return;
            }
            let mut response = ResponseBuilder::new().description(description).content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            );
            if retry_after {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::Integer))
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                );
            }
            operation
                .responses
                .responses
                .insert(status.to_owned(), response.build().into());
        }

        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if path.starts_with("/internal/") || operation.security.is_some() {
                    add(
                        operation,
                        "401",
                        "unauthorized: a missing, stale or wrong credential or edge signature",
                        false,
                    );
                }
                if operation.request_body.is_some() {
                    add(
                        operation,
                        "400",
                        "invalid_input or unknown_field: the body is not this operation's JSON",
                        false,
                    );
                    add(
                        operation,
                        "413",
                        "payload_too_large: the body is over 64 KiB",
                        false,
                    );
                }
                if path != "/openapi.json" {
                    add(operation, "503", "unavailable: a store is down", true);
                }
            }
        }
    }
}

/// The document as pretty-printed JSON, exactly as checked in.
pub fn document_json() -> String {
    // The document is built from static annotations; serialising it cannot fail.
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
