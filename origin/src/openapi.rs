//! The OpenAPI document of the origin, generated from the handlers' annotations. It is
//! served at `/openapi.json` and checked in at `origin/openapi.json`; a test fails when the
//! two differ (regenerate with `LASTHOP_BLESS=1 cargo test -p lasthop-origin openapi`). The
//! bodies are the core's `api` DTOs, whose schemas the core derives (feature `openapi`), so
//! this document and the edge's describe the same types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{dto, internal, ops, public};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "lasthop origin", description = "The origin vault: ops API, internal edge API, health and metrics."),
    paths(
        public::healthz, public::readyz, public::metrics, public::openapi,
        ops::create_hub, ops::issue_scanner, ops::revoke_scanner, ops::audit, ops::rotate_address,
        internal::register_buyer, internal::add_address, internal::buyer_profile, internal::register_seller,
        internal::create_order, internal::seller_orders, internal::seller_order_detail, internal::release, internal::deliver,
    ),
    components(schemas(dto::ErrorBody)),
    modifiers(&Security),
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

/// The document as pretty-printed JSON, exactly as checked in.
pub fn document_json() -> String {
    // The document is built from static annotations; serialising it cannot fail.
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
