//! Helpers shared by the end-to-end test binaries: a running stack with an operator, and the
//! contract calls a journey is made of. Every call goes over real HTTP to the real origin and
//! the real Worker under `wrangler dev`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod internal;

use std::path::{Path, PathBuf};

use lasthop_core::api::paths;
use lasthop_core::credential::read_scanner_claims;
use lasthop_core::device::{DeviceKeys, ScanRequest};
use lasthop_core::ids::{OrderId, ReleaseId};
use lasthop_core::sealed_box::{open, recipient_aad, Purpose, SealedBox};
use lasthop_core::signing::RequestNonce;
use lasthop_core::time::Timestamp;
use lasthop_e2e::{Client, Reply, Stack, StackOptions};
use rand::rngs::OsRng;
use serde_json::{json, Value};

/// A fresh state directory under the target dir, removed first if a previous run left it.
pub fn state_dir(name: &str) -> PathBuf {
    // Cargo sets this for integration tests and benches at compile time.
    let base = option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("lasthop-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts origin and edge with extra Worker vars.
pub fn spawn_stack(name: &str, edge_vars: &[(&str, &str)]) -> Stack {
    let mut options = StackOptions::new(state_dir(name));
    options.edge_vars = edge_vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Stack::spawn(options).expect("origin and edge start")
}

/// The test's view of a running stack: the [`Shop`] calls (through `Deref`) plus the stack.
pub struct World<'a> {
    pub stack: &'a Stack,
    shop: Shop,
}

impl std::ops::Deref for World<'_> {
    type Target = Shop;
    fn deref(&self) -> &Shop {
        &self.shop
    }
}

/// The contract calls a journey is made of, on an edge and an origin however they were
/// started (by a [`Stack`], or by the operator's guide in `operations_guide.rs`).
#[derive(Clone)]
pub struct Shop {
    pub edge: Client,
    pub origin: Client,
    ops_token: String,
}

/// A test buyer's personal data, kept so tests can look for it where it must not be.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub phone: String,
    pub region: String,
    pub line: String,
    pub postal_code: String,
}

impl Person {
    /// The values that must never reach the edge's storage, the seller or the logs.
    pub fn secrets(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.phone.clone(),
            self.line.clone(),
            self.postal_code.clone(),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Buyer {
    pub id: String,
    pub address_id: String,
    pub token: String,
    pub person: Person,
}

#[derive(Debug, Clone)]
pub struct Seller {
    pub id: String,
    pub token: String,
}

/// A scanner as ops enrolled it; with its device's private keys when it has one (the
/// terminal's, which the tests hold in its place).
#[derive(Debug, Clone)]
pub struct Scanner {
    pub id: String,
    pub hub_id: String,
    pub code: String,
    pub token: String,
    pub device: Option<DeviceKeys>,
}

impl Scanner {
    /// A request to `path` with `body`, signed by the device (when there is one) now.
    pub fn signed(&self, client: &Client, path: &str, body: &Value) -> lasthop_e2e::Request {
        self.signed_bytes(client, path, serde_json::to_vec(body).unwrap())
    }

    /// A request to `path` with raw `bytes`, signed by the device (when there is one and the
    /// token is a scanner credential) now.
    pub fn signed_bytes(
        &self,
        client: &Client,
        path: &str,
        bytes: Vec<u8>,
    ) -> lasthop_e2e::Request {
        let mut request = client
            .post(path)
            .bearer(&self.token)
            .header("content-type", "application/json");
        for (name, value) in self.device_headers(path, &bytes) {
            request = request.header(name, &value);
        }
        request.body(bytes)
    }

    /// The device's signature headers for a request to `path` with `bytes`, made now (none
    /// without a device, or when the token is no scanner credential).
    pub fn device_headers(&self, path: &str, bytes: &[u8]) -> Vec<(&'static str, String)> {
        let (Some(device), Ok(tid)) = (
            &self.device,
            read_scanner_claims(&self.token).map(|c| c.token_id),
        ) else {
            return Vec::new();
        };
        let headers = device.sign_scan(
            &ScanRequest {
                method: "POST",
                path,
                body: bytes,
                token_id: &tid,
            },
            now(),
            &RequestNonce::generate(&mut OsRng),
        );
        headers
            .pairs()
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect()
    }

    /// A request of this scanner's device as the edge keeps it in the chain, signed now.
    pub fn signed_scan(&self, path: &str, body: &Value) -> lasthop_core::device::SignedScan {
        let bytes = serde_json::to_vec(body).unwrap();
        let tid = read_scanner_claims(&self.token)
            .expect("a scanner credential")
            .token_id;
        let device = self.device.as_ref().expect("a device-bound scanner");
        device
            .signed_scan(
                lasthop_core::ids::ScannerId::parse(&self.id).unwrap(),
                &ScanRequest {
                    method: "POST",
                    path,
                    body: &bytes,
                    token_id: &tid,
                },
                now(),
                &RequestNonce::generate(&mut OsRng),
            )
            .unwrap()
    }

    /// Opens the `deliver` verdict's sealed recipient with this scanner's device.
    pub fn open_recipient(&self, verdict: &Value, order_id: &str) -> Value {
        assert!(
            verdict.get("recipient").is_none(),
            "plaintext recipient: {verdict}"
        );
        let sealed: SealedBox = serde_json::from_value(verdict["sealed_recipient"].clone())
            .unwrap_or_else(|_| panic!("no sealed recipient in {verdict}"));
        let aad = recipient_aad(
            &ReleaseId::parse(verdict["release_id"].as_str().unwrap()).unwrap(),
            &OrderId::parse(order_id).unwrap(),
        );
        let device = self.device.as_ref().expect("a device-bound scanner");
        let plain = open(device.box_key(), Purpose::Recipient, &aad, &sealed)
            .expect("the final hub's device opens the recipient");
        serde_json::from_slice(&plain).unwrap()
    }
}

/// Runs `query` on a pool connected to `url` (sqlx over any backend), from a test's own
/// thread: how the tests read a store directly.
pub fn with_pool<T, Fut>(url: &str, query: impl FnOnce(sqlx::AnyPool) -> Fut) -> T
where
    Fut: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let out = query(pool.clone()).await;
        pool.close().await;
        out
    })
}

/// Now, from the system clock.
pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap())
}

impl<'a> World<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        let ops_token = stack.origin.ops_token().expect("ops token");
        Self {
            stack,
            shop: Shop::new(stack.edge.client(), stack.origin.client(), ops_token),
        }
    }
}

impl Shop {
    pub fn new(edge: Client, origin: Client, ops_token: String) -> Self {
        Self {
            edge,
            origin,
            ops_token,
        }
    }

    pub fn register_buyer(&self, person: &Person) -> Buyer {
        Buyer::registered(&self.register_buyer_reply(person), person)
    }

    /// `POST /v1/buyers`, whatever it answers.
    pub fn register_buyer_reply(&self, person: &Person) -> Reply {
        self.edge
            .post("/v1/buyers")
            .json(&person.registration())
            .send()
            .unwrap()
    }

    /// `GET /v1/buyers/me`: the buyer's profile with addresses and access log.
    pub fn profile(&self, buyer: &Buyer) -> Reply {
        self.edge
            .get("/v1/buyers/me")
            .bearer(&buyer.token)
            .send()
            .unwrap()
    }

    pub fn register_seller(&self, name: &str) -> Seller {
        let reply = self
            .edge
            .post("/v1/sellers")
            .json(&json!({"platform_id": "demo", "name": name}))
            .send()
            .unwrap();
        Seller::registered(&reply)
    }

    pub fn create_order(&self, buyer: &Buyer, seller: &Seller) -> String {
        order_created(&self.create_order_reply(buyer, seller))
    }

    /// `POST /v1/orders`, whatever it answers.
    pub fn create_order_reply(&self, buyer: &Buyer, seller: &Seller) -> Reply {
        self.edge
            .post("/v1/orders")
            .bearer(&buyer.token)
            .json(&json!({"seller_id": seller.id, "address_id": buyer.address_id}))
            .send()
            .unwrap()
    }

    /// The ops token (for tests that act as operators themselves, e.g. from a browser script).
    pub fn ops_token(&self) -> &str {
        &self.ops_token
    }

    /// A new hub at `code` (4 digits: city hub, 6 digits: district hub); its id.
    pub fn hub(&self, code: &str) -> String {
        create_hub(&self.origin, &self.ops_token, code)
    }

    /// A hub at `code` (4 digits: city hub, 6 digits: district hub) with one scanner of
    /// `role`, enrolled with a fresh device.
    pub fn scanner(&self, code: &str, role: &str) -> Scanner {
        issue_scanner(&self.origin, &self.ops_token, code, role)
    }

    /// A hub at `code` with one scanner of `role` enrolled without a device (legacy).
    pub fn legacy_scanner(&self, code: &str, role: &str) -> Scanner {
        let hub_id = create_hub(&self.origin, &self.ops_token, code);
        enrol_scanner(&self.origin, &self.ops_token, &hub_id, code, role, None)
    }

    /// Another scanner of an existing hub, with a fresh device.
    pub fn another_scanner(&self, of: &Scanner, role: &str) -> Scanner {
        let device = Some(DeviceKeys::generate(&mut OsRng));
        enrol_scanner(
            &self.origin,
            &self.ops_token,
            &of.hub_id,
            &of.code,
            role,
            device,
        )
    }

    pub fn revoke(&self, scanner: &Scanner) {
        let reply = self
            .origin
            .request("DELETE", &format!("/v1/ops/scanners/{}", scanner.id))
            .bearer(&self.ops_token)
            .send()
            .unwrap();
        assert_eq!(reply.status, 204, "revoke: {}", reply.body);
    }

    pub fn pickup(&self, scanner: &Scanner, order_id: &str, buyer_id: &str) -> Reply {
        let body = json!({"platform_id": "demo", "order_id": order_id, "buyer_id": buyer_id,
                          "waybill": "WB-0001"});
        scanner
            .signed(&self.edge, paths::SCAN_PICKUP, &body)
            .send()
            .unwrap()
    }

    pub fn hop(&self, scanner: &Scanner, order_id: &str) -> Reply {
        let body = json!({"platform_id": "demo", "order_id": order_id});
        scanner
            .signed(&self.edge, paths::SCAN_HOP, &body)
            .send()
            .unwrap()
    }

    pub fn deliver(&self, scanner: &Scanner, order_id: &str, release_id: &str) -> Reply {
        let body = json!({"platform_id": "demo", "order_id": order_id, "release_id": release_id,
                          "signature": "signed-by-recipient"});
        scanner
            .signed(&self.edge, paths::SCAN_DELIVER, &body)
            .send()
            .unwrap()
    }

    pub fn tracking(&self, token: &str, order_id: &str) -> Reply {
        self.edge
            .get(&format!("/v1/orders/{order_id}/tracking"))
            .bearer(token)
            .send()
            .unwrap()
    }

    pub fn label(&self, seller: &Seller, order_id: &str) -> Reply {
        self.edge
            .get(&format!("/v1/seller/orders/{order_id}/label"))
            .bearer(&seller.token)
            .send()
            .unwrap()
    }

    pub fn seller_orders(&self, seller: &Seller) -> Reply {
        self.edge
            .get("/v1/seller/orders")
            .bearer(&seller.token)
            .send()
            .unwrap()
    }
}

impl Person {
    /// The contract's registration body for this person on platform `demo`, labelled `home`.
    pub fn registration(&self) -> Value {
        json!({
            "platform_id": "demo",
            "name": self.name,
            "phone": self.phone,
            "address": {"country": "CN", "region": self.region, "line": self.line,
                        "postal_code": self.postal_code, "label": "home"}
        })
    }
}

impl Buyer {
    /// The buyer a registration answered with; panics unless it is a 201.
    pub fn registered(reply: &Reply, person: &Person) -> Self {
        assert_eq!(reply.status, 201, "register buyer: {}", reply.body);
        let body = reply.json().unwrap();
        Self {
            id: text(&body, "buyer_id"),
            address_id: text(&body, "address_id"),
            token: text(&body, "buyer_token"),
            person: person.clone(),
        }
    }
}

impl Seller {
    /// The seller a registration answered with; panics unless it is a 201.
    pub fn registered(reply: &Reply) -> Self {
        assert_eq!(reply.status, 201, "register seller: {}", reply.body);
        let body = reply.json().unwrap();
        Self {
            id: text(&body, "seller_id"),
            token: text(&body, "seller_token"),
        }
    }
}

/// The order id an order creation answered with; panics unless it is a 201 `created`.
pub fn order_created(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "create order: {}", reply.body);
    let body = reply.json().unwrap();
    assert_eq!(body["status"], "created");
    text(&body, "order_id")
}

/// Creates a hub at `code` (4 digits: city hub, 6 digits: district hub) through the origin's
/// ops API; its id.
pub fn create_hub(origin: &Client, ops_token: &str, code: &str) -> String {
    let level = if code.len() == 4 { "city" } else { "district" };
    let reply = origin
        .post("/v1/ops/hubs")
        .bearer(ops_token)
        .json(&json!({"code": code, "level": level, "name": format!("Hub {code}")}))
        .send()
        .unwrap();
    assert_eq!(reply.status, 201, "create hub {code}: {}", reply.body);
    text(&reply.json().unwrap(), "hub_id")
}

/// Creates a hub at `code` through the origin's ops API and issues it one scanner of `role`,
/// enrolled with a fresh device.
pub fn issue_scanner(origin: &Client, ops_token: &str, code: &str, role: &str) -> Scanner {
    let hub_id = create_hub(origin, ops_token, code);
    let device = Some(DeviceKeys::generate(&mut OsRng));
    enrol_scanner(origin, ops_token, &hub_id, code, role, device)
}

/// Issues a scanner of `role` for an existing hub, with `device`'s public keys when given.
pub fn enrol_scanner(
    origin: &Client,
    ops_token: &str,
    hub_id: &str,
    code: &str,
    role: &str,
    device: Option<DeviceKeys>,
) -> Scanner {
    let mut body = json!({"hub_id": hub_id, "role": role});
    if let Some(keys) = &device {
        let public = keys.public();
        body["device"] = json!({"sign_key": public.sign_key.to_base64(),
                                "box_key": public.box_key.to_base64()});
    }
    let reply = origin
        .post("/v1/ops/scanners")
        .bearer(ops_token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(reply.status, 201, "issue scanner: {}", reply.body);
    let body = reply.json().unwrap();
    Scanner {
        id: text(&body, "scanner_id"),
        hub_id: hub_id.to_owned(),
        code: code.to_owned(),
        token: text(&body, "token"),
        device,
    }
}

/// The hubs before the last of a Hangzhou (330108) → Beijing (110105) journey: the seller's
/// district (forward_up), the seller's city and the buyer's city (both route_to).
pub const HANGZHOU_TO_BEIJING: [&str; 3] = ["330108", "3301", "1101"];

impl World<'_> {
    /// A pickup scanner at 330108 and one hub scanner at each of [`HANGZHOU_TO_BEIJING`].
    pub fn courier_route(&self) -> (Scanner, Vec<Scanner>) {
        let pickup = self.scanner("330108", "pickup");
        let hubs = HANGZHOU_TO_BEIJING
            .iter()
            .map(|code| self.scanner(code, "hub"))
            .collect();
        (pickup, hubs)
    }
}

impl Person {
    /// Buyer `n` of a series `tag` in Beijing's Chaoyang district (110105): personal data of
    /// its own, at an address of its own or at shared address `shared` (identical for every
    /// buyer given the same `shared`).
    pub fn numbered(tag: &str, n: usize, shared: Option<usize>) -> Self {
        let line = match shared {
            Some(s) => format!("朝阳共享路{s}号"),
            None => format!("朝阳{tag}路{n}号"),
        };
        Self {
            name: format!("买家{tag}{n}"),
            phone: format!("136{:08}", n % 100_000_000),
            region: "110105".into(),
            line,
            postal_code: "100020".into(),
        }
    }

    /// A buyer in Beijing's Chaoyang district (110105) whose data carries `tag`.
    pub fn chaoyang(tag: &str, phone: &str) -> Self {
        Self {
            name: format!("朝阳买家{tag}"),
            phone: phone.to_owned(),
            region: "110105".into(),
            line: format!("朝阳{tag}路9号"),
            postal_code: "100020".into(),
        }
    }
}

pub fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` missing in {body}"))
        .to_owned()
}

/// Asserts a hop answer's verdict (and next hop, for `route_to`).
pub fn assert_verdict(reply: &Reply, verdict: &str, next: Option<(&str, &str)>) {
    assert_eq!(reply.status, 200, "expected {verdict}: {}", reply.body);
    let body = reply.json().unwrap();
    assert_eq!(body["verdict"], verdict, "{body}");
    if let Some((level, code)) = next {
        assert_eq!(
            body["next_hop"],
            json!({"level": level, "code": code}),
            "{body}"
        );
    }
}

/// Asserts a contract error.
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "expected {code}: {}", reply.body);
    assert_eq!(reply.error_code().as_deref(), Some(code), "{}", reply.body);
    let message = reply.json().unwrap()["message"].as_str().map(str::to_owned);
    assert!(
        message.is_some_and(|m| !m.is_empty()),
        "error without a message: {}",
        reply.body
    );
}

/// Every regular file under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

/// Byte-level search, so a value embedded in a larger one (JSON, SQLite pages) is found too.
///
/// One exception keeps the search from failing by chance: a needle made only of hex digits
/// (a postal code, a phone number) is ignored where it sits inside a run of 32 or more hex
/// digits, because there it is part of a tag, hash or id, and any 6 digits turn up in enough
/// random hex now and then. Anywhere else, even glued to other text, it counts.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || haystack.len() < needle.len() {
        return false;
    }
    let hex_needle = needle.iter().all(u8::is_ascii_hexdigit);
    (0..=haystack.len() - needle.len()).any(|start| {
        let end = start + needle.len();
        if haystack[start..end] != *needle {
            return false;
        }
        if !hex_needle {
            return true;
        }
        let before = haystack[..start]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let after = haystack[end..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        before + needle.len() + after < 32
    })
}

/// Runs named scenarios against one shared stack, each caught on its own so one failure does
/// not hide the others; panics at the end listing every failed scenario.
pub fn run_scenarios(scenarios: &[(&str, &dyn Fn())]) {
    let mut failed = Vec::new();
    for (name, scenario) in scenarios {
        eprintln!("scenario: {name}");
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(scenario)).is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
