//! Test harness: an origin on real SQLite files or on fresh PostgreSQL databases, driven
//! in-process through the router (tower `oneshot`), plus signed-request helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use lasthop_core::api::paths;
use lasthop_core::device::{DeviceKeys, ScanRequest, SignedScan};
use lasthop_core::ids::{OrderId, ReleaseId};
use lasthop_core::keys::{EdgeSecrets, MasterKeyRing, OriginKeys};
use lasthop_core::sealed_box::{open, recipient_aad, Purpose, SealedBox};
use lasthop_core::signing::RequestNonce;
use lasthop_origin::config::Settings;
use lasthop_origin::startup::{app, Application};
use lasthop_origin::state::{AppState, Clock};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::pg;

/// The ops token of every test app.
pub const OPS_TOKEN: &str = "test-ops-token-0123456789";

/// Where the stores live, for raw dumps.
pub enum StoreLocation {
    /// The folder holding both SQLite files (and their WAL files).
    Sqlite(PathBuf),
    /// The two database names and their URLs.
    Postgres(pg::Databases),
}

/// A scanner enrolled with a device whose keys the test holds.
pub struct DeviceScanner {
    /// `sc_…`
    pub scanner_id: String,
    /// Its credential.
    pub token: String,
    /// Its device.
    pub keys: DeviceKeys,
}

impl DeviceScanner {
    /// Opens the sealed recipient of a release answer for `order_id` with this device's key;
    /// panics on a plaintext recipient or one that does not open.
    pub fn open_recipient(&self, reply: &Reply, order_id: &str) -> Value {
        assert!(
            reply.body.get("recipient").is_none(),
            "no plaintext recipient"
        );
        let sealed: SealedBox =
            serde_json::from_value(reply.body["sealed_recipient"].clone()).expect("sealed box");
        let aad = recipient_aad(
            &ReleaseId::parse(&reply.str("release_id")).unwrap(),
            &OrderId::parse(order_id).unwrap(),
        );
        let plain = open(self.keys.box_key(), Purpose::Recipient, &aad, &sealed)
            .expect("the terminal opens its recipient");
        serde_json::from_slice(&plain).unwrap()
    }
}

/// A running origin under test.
pub struct TestApp {
    /// The router, for oneshot calls.
    pub router: Router,
    /// Its state (stores, keys).
    pub state: AppState,
    /// The injected clock.
    pub clock: Clock,
    /// The keys the edge would hold.
    pub edge: EdgeSecrets,
    /// A second, unrelated key set (for forgeries).
    pub stranger: OriginKeys,
    /// Where the stores are.
    pub location: StoreLocation,
    /// The real socket the application bound.
    pub addr: SocketAddr,
    /// The master key ring's text (for commands run beside the app).
    pub master_keys: String,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

fn ring_text() -> String {
    MasterKeyRing::generate(&mut rand::rngs::OsRng)
        .to_text()
        .as_str()
        .to_owned()
}

/// Settings for a test app on the given store URLs.
pub fn settings(
    directory_url: String,
    vault_url: String,
    master: &str,
    edge_url: Option<String>,
) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        edge_url,
        platforms: vec!["demo".to_owned(), "other".to_owned()],
        outbox_interval: Duration::from_millis(100),
        flush_interval: Duration::from_millis(100),
        ..Settings::new(directory_url, vault_url, master, OPS_TOKEN)
    }
}

impl TestApp {
    /// An origin on fresh SQLite files (no edge to push revocations to).
    pub async fn sqlite() -> Self {
        Self::sqlite_with_edge_every(None, Duration::from_millis(100)).await
    }

    /// An origin on fresh SQLite files that pushes revocations to `edge_url`, retrying
    /// every `outbox_interval`.
    pub async fn sqlite_with_edge_every(
        edge_url: Option<String>,
        outbox_interval: Duration,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let directory = format!("sqlite://{}", dir.path().join("directory.db").display());
        let vault = format!("sqlite://{}", dir.path().join("vault.db").display());
        let location = StoreLocation::Sqlite(dir.path().to_path_buf());
        Self::start(
            directory,
            vault,
            location,
            Some(dir),
            edge_url,
            outbox_interval,
            ring_text(),
        )
        .await
    }

    /// An origin on fresh SQLite files with the vault's file in a folder of its own
    /// (`<dir>/vault/vault.db`), which a test can move away and back as a volume would go.
    pub async fn sqlite_with_vault_folder() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("vault")).expect("vault folder");
        let directory = format!("sqlite://{}", dir.path().join("directory.db").display());
        let vault = format!("sqlite://{}", dir.path().join("vault/vault.db").display());
        let location = StoreLocation::Sqlite(dir.path().to_path_buf());
        let interval = Duration::from_millis(100);
        Self::start(
            directory,
            vault,
            location,
            Some(dir),
            None,
            interval,
            ring_text(),
        )
        .await
    }

    /// An origin on fresh PostgreSQL databases, or `None` when Postgres tests are skipped.
    pub async fn postgres() -> Option<Self> {
        if !pg::enabled() {
            return None;
        }
        let dbs = pg::fresh_databases().await;
        let (directory, vault) = (dbs.directory_url.clone(), dbs.vault_url.clone());
        let location = StoreLocation::Postgres(dbs);
        let interval = Duration::from_millis(100);
        Some(
            Self::start(
                directory,
                vault,
                location,
                None,
                None,
                interval,
                ring_text(),
            )
            .await,
        )
    }

    /// This app stopped and a new one started on the same stores with the key ring `master`
    /// (as an operator restarts the origin after `keys rotate` or `keys retire`).
    pub async fn restarted_with_keys(self, master: String) -> Self {
        let directory = self.directory_url();
        let vault = self.vault_url();
        let Self {
            location,
            _dir: dir,
            _shutdown: shutdown,
            ..
        } = self;
        drop(shutdown);
        let interval = Duration::from_millis(100);
        Self::start(directory, vault, location, dir, None, interval, master).await
    }

    async fn start(
        directory: String,
        vault: String,
        location: StoreLocation,
        dir: Option<tempfile::TempDir>,
        edge_url: Option<String>,
        outbox_interval: Duration,
        master: String,
    ) -> Self {
        let clock = Clock::default();
        let settings = Settings {
            outbox_interval,
            ..settings(directory, vault, &master, edge_url)
        };
        let application = Application::build_with_clock(settings, clock.clone())
            .await
            .expect("application builds");
        let state = application.state().clone();
        let addr = SocketAddr::from(([127, 0, 0, 1], application.port()));
        let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(application.run_until(async move {
            let _ = rx.await;
        }));
        let keys = OriginKeys::derive(&MasterKeyRing::parse(&master).expect("ring"));
        Self {
            router: app(state.clone()),
            state,
            clock,
            edge: EdgeSecrets::from_origin_keys(&keys),
            stranger: OriginKeys::derive(&MasterKeyRing::generate(&mut rand::rngs::OsRng)),
            location,
            addr,
            master_keys: master,
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// An edge-signed internal call, optionally with a user's bearer token.
    pub async fn internal(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Reply {
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        self.send(self.signed_request(method, path, bytes, bearer))
            .await
    }

    /// Builds a signed request without sending it.
    pub fn signed_request(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        bearer: Option<&str>,
    ) -> Request<Body> {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        for (name, value) in lasthop_origin::signing::sign(
            &self.edge.edge_request,
            &lasthop_core::signing::SignedRequest {
                method: method.as_str(),
                path_and_query: path,
                body: &body,
                authorization: authorization.as_deref(),
            },
            self.clock.now(),
        ) {
            builder = builder.header(name, value);
        }
        if !body.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(Body::from(body)).expect("request")
    }

    /// An ops call with the ops token.
    pub async fn ops(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {OPS_TOKEN}"));
        let bytes = match body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(b).expect("json")
            }
            None => Vec::new(),
        };
        self.send(builder.body(Body::from(bytes)).expect("request"))
            .await
    }

    /// `POST /v1/ops/addresses/{id}/rotate`: a new number for the record behind `id` (a
    /// vault number or a buyer's entry id).
    pub async fn rotate_number(&self, id: &str) -> Reply {
        self.ops(
            Method::POST,
            &format!("/v1/ops/addresses/{id}/rotate"),
            None,
        )
        .await
    }

    /// Registers a buyer; returns (buyer_id, address_id, token).
    pub async fn buyer(&self, person: &Person) -> (String, String, String) {
        let reply = self
            .internal(
                Method::POST,
                "/internal/v1/buyers",
                Some(&person.registration()),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        (
            reply.str("buyer_id"),
            reply.str("address_id"),
            reply.str("buyer_token"),
        )
    }

    /// The shared vault number behind a buyer's address id (read from the directory: no answer
    /// to a buyer ever names it).
    pub async fn vault_number(&self, entry_id: &str) -> String {
        self.state
            .stores()
            .directory
            .entry(entry_id)
            .await
            .expect("directory")
            .unwrap_or_else(|| panic!("no entry {entry_id}"))
            .address_id
    }

    /// Registers a seller; returns (seller_id, token).
    pub async fn seller(&self, name: &str) -> (String, String) {
        let reply = self
            .internal(
                Method::POST,
                "/internal/v1/sellers",
                Some(&json!({"platform_id": "demo", "name": name})),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        (reply.str("seller_id"), reply.str("seller_token"))
    }

    /// Creates an order; returns the whole reply body.
    pub async fn order(&self, buyer_token: &str, seller_id: &str, address_id: &str) -> Value {
        let reply = self
            .internal(
                Method::POST,
                "/internal/v1/orders",
                Some(&json!({"seller_id": seller_id, "address_id": address_id})),
                Some(buyer_token),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body
    }

    /// Registers a hub and a scanner without a device (legacy) for it; returns (hub_id,
    /// scanner_id, token).
    pub async fn hub_scanner(
        &self,
        level: &str,
        code: &str,
        role: &str,
    ) -> (String, String, String) {
        let hub_id = self.hub(level, code).await;
        let scanner = self
            .ops(
                Method::POST,
                "/v1/ops/scanners",
                Some(&json!({"hub_id": hub_id, "role": role})),
            )
            .await;
        assert_eq!(scanner.status, StatusCode::CREATED, "{:?}", scanner.body);
        (hub_id, scanner.str("scanner_id"), scanner.str("token"))
    }

    /// Registers a hub; returns its id.
    pub async fn hub(&self, level: &str, code: &str) -> String {
        let hub = self
            .ops(
                Method::POST,
                "/v1/ops/hubs",
                Some(&json!({"code": code, "level": level, "name": "Test hub"})),
            )
            .await;
        assert_eq!(hub.status, StatusCode::CREATED, "{:?}", hub.body);
        hub.str("hub_id")
    }

    /// Enrols a scanner of `hub_id` with a fresh device.
    pub async fn enrol(&self, hub_id: &str, role: &str) -> DeviceScanner {
        let keys = DeviceKeys::generate(&mut rand::rngs::OsRng);
        let public = keys.public();
        let scanner = self
            .ops(
                Method::POST,
                "/v1/ops/scanners",
                Some(&json!({"hub_id": hub_id, "role": role, "device": {
                    "sign_key": public.sign_key.to_base64(),
                    "box_key": public.box_key.to_base64(),
                }})),
            )
            .await;
        assert_eq!(scanner.status, StatusCode::CREATED, "{:?}", scanner.body);
        DeviceScanner {
            scanner_id: scanner.str("scanner_id"),
            token: scanner.str("token"),
            keys,
        }
    }

    /// Registers a hub and a device-bound scanner for it.
    pub async fn device_scanner(&self, level: &str, code: &str, role: &str) -> DeviceScanner {
        let hub_id = self.hub(level, code).await;
        self.enrol(&hub_id, role).await
    }

    /// A request of `scanner`'s device, signed now, as the edge keeps it.
    pub fn scan(&self, scanner: &DeviceScanner, path: &str, body: &Value) -> SignedScan {
        let claims = self
            .edge
            .credentials
            .verify_scanner(&scanner.token, self.clock.now())
            .expect("a valid scanner token");
        let body = serde_json::to_vec(body).expect("json");
        scanner
            .keys
            .signed_scan(
                claims.scanner_id,
                &ScanRequest {
                    method: "POST",
                    path,
                    body: &body,
                    token_id: &claims.token_id,
                },
                self.clock.now(),
                &RequestNonce::generate(&mut rand::rngs::OsRng),
            )
            .expect("a UTF-8 body")
    }

    /// The honest chain of `order_id`: a pickup by `pickup` at the buyer's district (label read
    /// right) and `terminal`'s own scan, both signed now.
    pub fn chain(
        &self,
        pickup: &DeviceScanner,
        terminal: &DeviceScanner,
        order_id: &str,
        buyer_id: &str,
    ) -> Vec<SignedScan> {
        vec![
            self.scan(
                pickup,
                paths::SCAN_PICKUP,
                &json!({"platform_id": "demo", "order_id": order_id, "buyer_id": buyer_id,
                        "waybill": "SF1"}),
            ),
            self.scan(
                terminal,
                paths::SCAN_HOP,
                &json!({"platform_id": "demo", "order_id": order_id}),
            ),
        ]
    }

    /// Asks for a release without a chain (a legacy scanner, or an attacker).
    pub async fn release(&self, order_id: &str, scanner_token: &str) -> Reply {
        self.release_with_chain(order_id, scanner_token, &[]).await
    }

    /// Asks for a release with a chain of custody.
    pub async fn release_with_chain(
        &self,
        order_id: &str,
        scanner_token: &str,
        chain: &[SignedScan],
    ) -> Reply {
        let body = json!({"platform_id": "demo", "order_id": order_id,
                          "scanner_token": scanner_token, "chain": chain});
        self.internal(Method::POST, "/internal/v1/releases", Some(&body), None)
            .await
    }

    /// The directory store's URL (as its own role on PostgreSQL).
    pub fn directory_url(&self) -> String {
        match &self.location {
            StoreLocation::Sqlite(dir) => {
                format!("sqlite://{}", dir.join("directory.db").display())
            }
            StoreLocation::Postgres(dbs) => dbs.directory_url.clone(),
        }
    }

    /// `lasthop-origin <args>` on this app's stores (ops token and log level set; the caller
    /// adds the master keys as the command needs them), run to completion.
    pub fn run_origin(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_lasthop-origin"))
            .args(args)
            .env("LASTHOP_DIRECTORY_URL", self.directory_url())
            .env("LASTHOP_VAULT_URL", self.vault_url())
            .env("LASTHOP_OPS_TOKEN", OPS_TOKEN)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("run lasthop-origin")
    }

    /// The vault store's URL (as its own role on PostgreSQL).
    pub fn vault_url(&self) -> String {
        match &self.location {
            StoreLocation::Sqlite(dir) => {
                let folder = dir.join("vault/vault.db");
                let file = if folder.exists() {
                    folder
                } else {
                    dir.join("vault.db")
                };
                format!("sqlite://{}", file.display())
            }
            StoreLocation::Postgres(dbs) => dbs.vault_url.clone(),
        }
    }

    /// Raw bytes of both stores: the SQLite files (with WAL) or `pg_dump` of both databases.
    pub async fn dump(&self) -> Vec<u8> {
        match &self.location {
            StoreLocation::Sqlite(dir) => {
                let mut bytes = Vec::new();
                let mut folders = vec![dir.clone()];
                while let Some(folder) = folders.pop() {
                    for entry in std::fs::read_dir(folder).expect("dir") {
                        let path = entry.expect("entry").path();
                        if path.is_dir() {
                            folders.push(path);
                        } else {
                            bytes.extend(std::fs::read(path).expect("read"));
                        }
                    }
                }
                bytes
            }
            StoreLocation::Postgres(dbs) => {
                let mut bytes = Vec::new();
                for url in [&dbs.directory_url, &dbs.vault_url] {
                    let out = std::process::Command::new(lasthop_e2e::postgres::tool("pg_dump"))
                        .arg(url)
                        .output()
                        .expect("pg_dump");
                    assert!(
                        out.status.success(),
                        "pg_dump: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    bytes.extend(out.stdout);
                }
                bytes
            }
        }
    }
}

/// A command's status and output, for assertion messages.
pub fn shown(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A test buyer with distinctive personal data.
#[derive(Debug, Clone)]
pub struct Person {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Street line.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// Delivery region code.
    pub region: String,
}

impl Person {
    /// A buyer in Beijing, Chaoyang (110105).
    pub fn new(tag: &str) -> Self {
        Self {
            name: format!("Zhang Wei-{tag}"),
            phone: "+86 139 1234 5678".to_owned(),
            line: format!("88 Jianguo Road, Unit {tag}"),
            postal_code: "100020".to_owned(),
            region: "110105".to_owned(),
        }
    }

    /// The address object.
    pub fn address(&self, label: &str) -> Value {
        json!({"country": "CN", "region": self.region, "line": self.line, "postal_code": self.postal_code, "label": label})
    }

    /// The registration body.
    pub fn registration(&self) -> Value {
        json!({"platform_id": "demo", "name": self.name, "phone": self.phone, "address": self.address("home")})
    }
}

/// An answered request.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// JSON body (or the text as a JSON string).
    pub body: Value,
}

impl Reply {
    /// A string field of the body.
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{field}` in {:?}", self.body))
            .to_owned()
    }

    /// The contract error code.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<none>")
    }
}
