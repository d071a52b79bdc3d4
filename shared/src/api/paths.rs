//! Every path the edge and the origin call each other on, the courier paths whose requests
//! the devices sign, and the pages' sealed buyer paths: one constant each, never a string
//! literal in several files.
//!
//! Paths with an id take it as `{name}` (axum's syntax); [`with_id`] fills it in.

/// `POST`: a buyer registers (edge → origin).
pub const INTERNAL_BUYERS: &str = "/internal/v1/buyers";
/// `GET`: the calling buyer's profile.
pub const INTERNAL_BUYER_PROFILE: &str = "/internal/v1/buyers/me";
/// `POST`: the calling buyer adds an address.
pub const INTERNAL_BUYER_ADDRESSES: &str = "/internal/v1/buyers/me/addresses";
/// `PUT`: the calling buyer modifies one of their addresses.
pub const INTERNAL_BUYER_ADDRESS: &str = "/internal/v1/buyers/me/addresses/{address_id}";
/// `POST`: a seller registers.
pub const INTERNAL_SELLERS: &str = "/internal/v1/sellers";
/// `GET`: the calling buyer's fee quotes for a seller, an address and a weight.
pub const INTERNAL_BUYER_QUOTES: &str = "/internal/v1/buyers/me/quotes";
/// `POST`: the calling buyer orders.
pub const INTERNAL_ORDERS: &str = "/internal/v1/orders";
/// `GET`: the calling seller's orders.
pub const INTERNAL_SELLER_ORDERS: &str = "/internal/v1/seller/orders";
/// `GET`: one of the calling seller's orders.
pub const INTERNAL_SELLER_ORDER: &str = "/internal/v1/seller/orders/{order_id}";
/// `POST`: the final hop's release, with the chain of custody.
pub const INTERNAL_RELEASES: &str = "/internal/v1/releases";
/// `POST`: the final hub's proof of delivery.
pub const INTERNAL_DELIVERIES: &str = "/internal/v1/deliveries";
/// `POST`: a device renews its scanner credential.
pub const INTERNAL_SCANNER_RENEWALS: &str = "/internal/v1/scanner-renewals";
/// `POST`: the origin pushes a scanner's revocation (origin → edge).
pub const INTERNAL_REVOCATIONS: &str = "/internal/v1/revocations";

/// `GET`: the vault's intake key (the pages seal personal data to it).
pub const INTERNAL_INTAKE_KEY: &str = "/internal/v1/vault/intake-key";
/// `POST`: a buyer registers with name, phone and address sealed in the browser.
pub const INTERNAL_BUYERS_SEALED: &str = "/internal/v1/buyers/sealed";
/// `POST`: the calling buyer adds an address sealed in the browser.
pub const INTERNAL_BUYER_ADDRESSES_SEALED: &str = "/internal/v1/buyers/me/addresses/sealed";
/// `PUT`: the calling buyer modifies one of their addresses, sealed in the browser.
pub const INTERNAL_BUYER_ADDRESS_SEALED: &str =
    "/internal/v1/buyers/me/addresses/{address_id}/sealed";
/// `GET`: the calling buyer's profile, sealed to the key their page registered.
pub const INTERNAL_BUYER_PROFILE_SEALED: &str = "/internal/v1/buyers/me/sealed";

/// `GET`: the vault's intake key, relayed by the edge for the pages.
pub const INTAKE_KEY: &str = "/v1/vault/intake-key";
/// `POST`: sealed registration, from the buyer's page.
pub const BUYERS_SEALED: &str = "/v1/buyers/sealed";
/// `POST`: a sealed new address, from the buyer's page.
pub const BUYER_ADDRESSES_SEALED: &str = "/v1/buyers/me/addresses/sealed";
/// `PUT`: a modified address (plaintext, API clients).
pub const BUYER_ADDRESS: &str = "/v1/buyers/me/addresses/{address_id}";
/// `PUT`: a modified address sealed in the buyer's page.
pub const BUYER_ADDRESS_SEALED: &str = "/v1/buyers/me/addresses/{address_id}/sealed";
/// `GET`: the buyer's profile sealed to their page's key.
pub const BUYER_PROFILE_SEALED: &str = "/v1/buyers/me/sealed";

/// `POST`: a pickup scan (device-signed).
pub const SCAN_PICKUP: &str = "/v1/scans/pickup";
/// `POST`: a hub scan (device-signed).
pub const SCAN_HOP: &str = "/v1/scans/hop";
/// `POST`: the final hub's delivery (device-signed).
pub const SCAN_DELIVER: &str = "/v1/scans/deliver";
/// `POST`: a device renews its scanner credential (device-signed).
pub const SCANNER_RENEW: &str = "/v1/scanners/renew";

/// `template` with its one `{…}` placeholder replaced by `id`.
pub fn with_id(template: &str, id: &str) -> String {
    match (template.find('{'), template.find('}')) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{id}{}", &template[..start], &template[end + 1..])
        }
        _ => template.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_fills_the_placeholder() {
        assert_eq!(
            with_id(INTERNAL_SELLER_ORDER, "o_0123456789abcdef"),
            "/internal/v1/seller/orders/o_0123456789abcdef"
        );
        assert_eq!(with_id(INTERNAL_SELLERS, "x"), INTERNAL_SELLERS);
    }
}
