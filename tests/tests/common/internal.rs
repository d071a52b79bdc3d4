//! The origin's internal API called directly, signed as the edge signs it (edge-request key
//! derived from the origin's master key file). For the load generator and tests that drive the
//! origin without the Worker in front: registrations, orders and — the one place to change when
//! the release call changes — final-hop releases.

use lasthop_core::api::paths;
use lasthop_core::keys::{MasterKeyRing, OriginKeys, RequestKey};
use lasthop_core::signing::{sign_request, RequestNonce, SignedRequest};
use lasthop_core::time::Timestamp;
use lasthop_e2e::{Client, OriginProcess, Reply};
use serde_json::{json, Value};

use super::{issue_scanner, order_created, Buyer, Person, Scanner, Seller};

/// A signed client on one origin's internal API, plus its ops token.
pub struct InternalOrigin {
    /// Plain client on the origin (ops calls, `/healthz`).
    pub client: Client,
    key: RequestKey,
    ops_token: String,
}

impl InternalOrigin {
    /// A client for `origin`, with the keys read from its state directory.
    pub fn new(origin: &OriginProcess) -> Self {
        let text = std::fs::read_to_string(origin.master_keys_file()).unwrap();
        let lines = text.split_whitespace().collect::<Vec<_>>().join("\n");
        let ring = MasterKeyRing::parse(&lines).unwrap();
        Self {
            client: origin.client(),
            key: OriginKeys::derive(&ring).edge_request,
            ops_token: origin.ops_token().unwrap(),
        }
    }

    /// A signed request with an optional JSON body and forwarded bearer token.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Reply {
        self.try_send(method, path, body, bearer).unwrap()
    }

    /// As [`InternalOrigin::send`], but an origin that does not answer at all (down, killed)
    /// is an error rather than a panic.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<Reply, lasthop_e2e::LaunchError> {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        let nonce = RequestNonce::generate(&mut rand::rngs::OsRng);
        let now = Timestamp::from_unix_millis(
            i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis(),
            )
            .unwrap(),
        );
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let signed = sign_request(
            &self.key,
            &SignedRequest {
                method,
                path_and_query: path,
                body: bytes.as_deref().unwrap_or_default(),
                authorization: authorization.as_deref(),
            },
            now,
            &nonce,
        );
        let mut request = self.client.request(method, path);
        for (name, value) in signed.pairs() {
            request = request.header(name, value);
        }
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        if let Some(bytes) = bytes {
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        request.send()
    }

    /// A hub at `code` with one scanner of `role`, through the ops API.
    pub fn scanner(&self, code: &str, role: &str) -> Scanner {
        issue_scanner(&self.client, &self.ops_token, code, role)
    }

    /// `POST /internal/v1/buyers`, whatever it answers.
    pub fn register_buyer_reply(&self, person: &Person) -> Reply {
        self.try_register_buyer(person).unwrap()
    }

    /// `POST /internal/v1/buyers`; an error when the origin does not answer at all.
    pub fn try_register_buyer(&self, person: &Person) -> Result<Reply, lasthop_e2e::LaunchError> {
        self.try_send(
            "POST",
            paths::INTERNAL_BUYERS,
            Some(&person.registration()),
            None,
        )
    }

    /// A registered buyer; panics unless the origin answers 201.
    pub fn register_buyer(&self, person: &Person) -> Buyer {
        Buyer::registered(&self.register_buyer_reply(person), person)
    }

    /// The buyer's own profile (`GET /internal/v1/buyers/me`).
    pub fn profile(&self, buyer: &Buyer) -> Reply {
        self.send(
            "GET",
            paths::INTERNAL_BUYER_PROFILE,
            None,
            Some(&buyer.token),
        )
    }

    /// A registered seller; panics unless the origin answers 201.
    pub fn register_seller(&self, name: &str) -> Seller {
        let body = json!({"platform_id": "demo", "name": name});
        Seller::registered(&self.send("POST", paths::INTERNAL_SELLERS, Some(&body), None))
    }

    /// `POST /internal/v1/orders` for the buyer's first address, whatever it answers.
    pub fn create_order_reply(&self, buyer: &Buyer, seller: &Seller) -> Reply {
        self.try_create_order(buyer, seller).unwrap()
    }

    /// As [`InternalOrigin::create_order_reply`]; an error when the origin does not answer.
    pub fn try_create_order(
        &self,
        buyer: &Buyer,
        seller: &Seller,
    ) -> Result<Reply, lasthop_e2e::LaunchError> {
        let body = json!({"seller_id": seller.id, "address_id": buyer.address_id});
        self.try_send(
            "POST",
            paths::INTERNAL_ORDERS,
            Some(&body),
            Some(&buyer.token),
        )
    }

    /// A new order id; panics unless the origin answers 201.
    pub fn create_order(&self, buyer: &Buyer, seller: &Seller) -> String {
        order_created(&self.create_order_reply(buyer, seller))
    }

    /// The final hop's release of `order_id` to `scanner`'s hub, as the edge asks for it: with
    /// the chain of a pickup by `pickup` (at the same district) and `scanner`'s own scan, both
    /// signed by their devices now.
    pub fn release(
        &self,
        pickup: &Scanner,
        scanner: &Scanner,
        order_id: &str,
        buyer_id: &str,
    ) -> Reply {
        self.try_release(pickup, scanner, order_id, buyer_id)
            .unwrap()
    }

    /// As [`InternalOrigin::release`]; an error when the origin does not answer at all.
    pub fn try_release(
        &self,
        pickup: &Scanner,
        scanner: &Scanner,
        order_id: &str,
        buyer_id: &str,
    ) -> Result<Reply, lasthop_e2e::LaunchError> {
        let chain = [
            pickup.signed_scan(
                paths::SCAN_PICKUP,
                &json!({"platform_id": "demo", "order_id": order_id, "buyer_id": buyer_id,
                        "waybill": "WB-0001"}),
            ),
            scanner.signed_scan(
                paths::SCAN_HOP,
                &json!({"platform_id": "demo", "order_id": order_id}),
            ),
        ];
        let body = json!({"platform_id": "demo", "order_id": order_id,
                          "scanner_token": scanner.token, "chain": chain});
        self.try_send("POST", paths::INTERNAL_RELEASES, Some(&body), None)
    }
}
