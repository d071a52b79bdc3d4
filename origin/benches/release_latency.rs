//! Release latency on SQLite files: 10,000 sequential `POST /internal/v1/releases` through
//! the router (tower `oneshot`, no socket), each with a real edge signature, a scanner
//! credential check, the plaintext region check, the audit transaction and decryption.
//! 1,000 orders are released 10 times each: the first pass creates releases, the others
//! take the idempotent path. Prints p50/p99/max in microseconds and the machine.
//!
//! Run: `cargo bench -p lasthop-origin --bench release_latency`.

#![allow(clippy::unwrap_used)] // bench code: a panic is a failure report

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use lasthop_core::keys::{EdgeSecrets, MasterKeyRing, OriginKeys};
use lasthop_origin::config::Settings;
use lasthop_origin::startup::{app, Application};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const RELEASES: usize = 10_000;
const ORDERS: usize = 1_000;
const OPS: &str = "bench-ops-token";

struct Bench {
    router: Router,
    edge: EdgeSecrets,
    state: lasthop_origin::state::AppState,
}

impl Bench {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
        signed: bool,
    ) -> (StatusCode, Value) {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        if signed {
            for (name, value) in lasthop_origin::signing::sign(
                &self.edge.edge_request,
                &lasthop_core::signing::SignedRequest {
                    method: method.as_str(),
                    path_and_query: path,
                    body: &bytes,
                    authorization: authorization.as_deref(),
                },
                self.state.now(),
            ) {
                request = request.header(name, value);
            }
        }
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(bytes)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_micros()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cpu}, {cores} cores available, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKeyRing::generate(&mut rand::rngs::OsRng)
        .to_text()
        .as_str()
        .to_owned();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        outbox_interval: Duration::from_secs(3600),
        ..Settings::new(
            format!("sqlite://{}", dir.path().join("directory.db").display()),
            format!("sqlite://{}", dir.path().join("vault.db").display()),
            master.clone(),
            OPS,
        )
    };
    let application = Application::build(settings).await.unwrap();
    let state = application.state().clone();
    let bench = Bench {
        router: app(state.clone()),
        edge: EdgeSecrets::from_origin_keys(&OriginKeys::derive(
            &MasterKeyRing::parse(&master).unwrap(),
        )),
        state,
    };

    let (_, hub) = bench
        .call(
            Method::POST,
            "/v1/ops/hubs",
            Some(json!({"code": "110105", "level": "district", "name": "Chaoyang"})),
            Some(OPS),
            false,
        )
        .await;
    let (_, scanner) = bench
        .call(
            Method::POST,
            "/v1/ops/scanners",
            Some(json!({"hub_id": hub["hub_id"], "role": "hub"})),
            Some(OPS),
            false,
        )
        .await;
    let scanner_token = scanner["token"].as_str().unwrap().to_owned();
    let (_, seller) = bench
        .call(
            Method::POST,
            "/internal/v1/sellers",
            Some(json!({"platform_id": "demo", "name": "Shop"})),
            None,
            true,
        )
        .await;
    let seller_id = seller["seller_id"].as_str().unwrap().to_owned();
    let mut orders = Vec::with_capacity(ORDERS);
    for i in 0..ORDERS {
        let registration = json!({"platform_id": "demo", "name": format!("Buyer {i}"), "phone": "13912345678",
            "address": {"country": "CN", "region": "110105", "line": format!("{i} Jianguo Road"), "postal_code": "100020", "label": "home"}});
        let (status, buyer) = bench
            .call(
                Method::POST,
                "/internal/v1/buyers",
                Some(registration),
                None,
                true,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let token = buyer["buyer_token"].as_str().unwrap().to_owned();
        let body = json!({"seller_id": seller_id, "address_id": buyer["address_id"]});
        let (status, order) = bench
            .call(
                Method::POST,
                "/internal/v1/orders",
                Some(body),
                Some(&token),
                true,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        orders.push(order["order_id"].as_str().unwrap().to_owned());
    }

    let mut first = Vec::with_capacity(ORDERS);
    let mut all = Vec::with_capacity(RELEASES);
    let started = Instant::now();
    for i in 0..RELEASES {
        let order_id = &orders[i % ORDERS];
        let body =
            json!({"platform_id": "demo", "order_id": order_id, "scanner_token": scanner_token});
        let t = Instant::now();
        let (status, _) = bench
            .call(
                Method::POST,
                "/internal/v1/releases",
                Some(body),
                None,
                true,
            )
            .await;
        let elapsed = t.elapsed();
        assert_eq!(status, StatusCode::OK);
        all.push(elapsed);
        if i < ORDERS {
            first.push(elapsed);
        }
    }
    let total = started.elapsed();
    all.sort();
    first.sort();
    println!("release latency, SQLite files, {RELEASES} sequential releases through the router ({ORDERS} orders x {})", RELEASES / ORDERS);
    println!("machine: {}", machine());
    println!(
        "all:           p50 {} us  p99 {} us  max {} us  ({:.0} releases/s)",
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.last().unwrap().as_micros(),
        RELEASES as f64 / total.as_secs_f64()
    );
    println!(
        "first release: p50 {} us  p99 {} us  max {} us",
        percentile(&first, 0.50),
        percentile(&first, 0.99),
        first.last().unwrap().as_micros()
    );
}
