//! Tests tied to one backend or to the process around the router.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use lasthop_e2e::postgres::StoreRole;
use sqlx::{Connection, Executor};

use crate::helpers::TestApp;
use crate::scenarios::parcel;
use crate::{helpers, pg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_write_failure_releases_nothing() {
    let app = TestApp::sqlite().await;
    let p = parcel(&app, "fault").await;
    let helpers::StoreLocation::Sqlite(dir) = &app.location else {
        unreachable!()
    };
    // A real fault: a trigger, created through a side connection, that aborts every audit insert.
    let url = format!("sqlite://{}", dir.join("directory.db").display());
    let mut side = sqlx::SqliteConnection::connect(&url).await.unwrap();
    side.execute("CREATE TRIGGER audit_down BEFORE INSERT ON release_audit BEGIN SELECT RAISE(ABORT, 'audit store down'); END")
        .await
        .unwrap();

    let reply = p.release(&app).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.error(), "unavailable");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert!(reply.body.get("recipient").is_none());
    let text = reply.body.to_string();
    assert!(
        !text.contains(&p.person.name) && !text.contains("audit store down"),
        "{text}"
    );
    let (releases,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM releases")
        .fetch_one(&mut side)
        .await
        .unwrap();
    assert_eq!(
        releases, 0,
        "the release row rolled back with the audit row"
    );

    side.execute("DROP TRIGGER audit_down").await.unwrap();
    let reply = p.release(&app).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let (audits,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM release_audit")
        .fetch_one(&mut side)
        .await
        .unwrap();
    assert_eq!(audits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_roles_cannot_reach_each_others_databases() {
    if !pg::enabled() {
        return;
    }
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let _ = parcel(&app, "roles").await;
    let helpers::StoreLocation::Postgres(dbs) = &app.location else {
        unreachable!()
    };
    let cluster = pg::cluster();
    // Each role reads its own tables …
    let mut own = sqlx::PgConnection::connect(&dbs.vault_url).await.unwrap();
    let (records,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM address_records")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(records, 1);
    let mut own = sqlx::PgConnection::connect(&dbs.directory_url)
        .await
        .unwrap();
    let (buyers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM buyers")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(buyers, 1);
    // … and neither can even connect to the other's database.
    let vault_into_directory = cluster.store_url(StoreRole::Vault, &dbs.directory_db);
    let err = sqlx::PgConnection::connect(&vault_into_directory)
        .await
        .expect_err("vault role refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
    let directory_into_vault = cluster.store_url(StoreRole::Directory, &dbs.vault_db);
    let err = sqlx::PgConnection::connect(&directory_into_vault)
        .await
        .expect_err("directory role refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
    // A wrong password is refused too (authentication is real, not trust).
    let wrong = cluster.url(StoreRole::Vault.name(), "guess", &dbs.vault_db);
    assert!(sqlx::PgConnection::connect(&wrong).await.is_err());
}

#[tokio::test]
async fn the_served_openapi_document_matches_the_checked_in_file() {
    let app = TestApp::sqlite().await;
    let reply = app
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let served = serde_json::to_string_pretty(&reply.body).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var("LASTHOP_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let checked_in = serde_json::from_str::<serde_json::Value>(&checked_in)
        .map(|v| serde_json::to_string_pretty(&v).unwrap() + "\n")
        .unwrap_or_default();
    assert!(
        served == checked_in,
        "origin/openapi.json is out of date with the served document; regenerate it with \
         `LASTHOP_BLESS=1 cargo test -p lasthop-origin openapi` and commit it"
    );
    for path in [
        "/v1/ops/hubs",
        "/v1/ops/scanners/{scanner_id}",
        "/internal/v1/releases",
        "/healthz",
    ] {
        assert!(reply.body["paths"].get(path).is_some(), "{path} documented");
    }
}

#[derive(Clone, Default)]
struct FakeEdge {
    received: Arc<Mutex<Vec<(String, bool)>>>,
    accepts_first_push: bool,
}

impl FakeEdge {
    /// Starts an origin on fresh SQLite files that pushes its revocations to this fake edge
    /// (served on a free port), retrying every `retry_every`.
    async fn origin_pushing_here(&self, retry_every: Duration) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let edge_url = format!("http://{}", listener.local_addr().unwrap());
        let app = TestApp::sqlite_with_edge_every(Some(edge_url), retry_every).await;
        let router = axum::Router::new()
            .route("/internal/v1/revocations", axum::routing::post(revocations))
            .with_state((self.clone(), app.edge.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await });
        app
    }
}

/// Issues a hub scanner and revokes it through the ops API; returns its id.
async fn revoke_a_scanner(app: &TestApp) -> String {
    let (_, scanner_id, _) = app.hub_scanner("district", "110105", "hub").await;
    let reply = app
        .ops(
            Method::DELETE,
            &format!("/v1/ops/scanners/{scanner_id}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    scanner_id.to_string()
}

/// The receiving end of revocation pushes: verifies the origin-push signature like the real
/// edge and, unless told otherwise, refuses the first attempt, so the retry is exercised.
async fn revocations(
    State((edge, secrets)): State<(FakeEdge, lasthop_core::keys::EdgeSecrets)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let now = lasthop_core::time::Timestamp::from_unix_millis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    );
    let valid = lasthop_origin::signing::verify(
        &secrets.origin_push,
        &lasthop_core::signing::SignedRequest {
            method: "POST",
            path_and_query: "/internal/v1/revocations",
            body: &body,
            authorization: headers.get("authorization").and_then(|v| v.to_str().ok()),
        },
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        now,
        60,
    )
    .is_ok();
    let scanner_id = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["scanner_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut received = edge.received.lock().unwrap();
    received.push((scanner_id, valid));
    if received.len() == 1 && !edge.accepts_first_push {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_pushed_to_the_edge_until_it_acknowledges() {
    let edge = FakeEdge::default();
    let app = edge.origin_pushing_here(Duration::from_millis(100)).await;
    let scanner_id = revoke_a_scanner(&app).await;
    let mut delivered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app
            .state
            .stores()
            .directory
            .pending_revocations()
            .await
            .unwrap()
            .is_empty()
        {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the outbox drained");
    let received = edge.received.lock().unwrap().clone();
    assert!(
        received.len() >= 2,
        "retried after the refusal: {received:?}"
    );
    assert!(
        received
            .iter()
            .all(|(id, valid)| id == &scanner_id && *valid),
        "{received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_pushed_at_once_not_at_the_next_retry_tick() {
    let edge = FakeEdge {
        accepts_first_push: true,
        ..FakeEdge::default()
    };
    // The retry tick is an hour away, so only the revocation itself can trigger the push.
    let app = edge.origin_pushing_here(Duration::from_secs(3600)).await;
    let scanner_id = revoke_a_scanner(&app).await;
    let mut received = Vec::new();
    for _ in 0..100 {
        received = edge.received.lock().unwrap().clone();
        if !received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(received, vec![(scanner_id, true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_serves_health_on_a_real_socket() {
    let app = TestApp::sqlite().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    // A declared body over the limit is refused before it is read, still in the contract format.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/ops/hubs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"error\":\"payload_too_large\""),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_path_with_another_method_answers_405_with_allow_on_every_kind_of_route() {
    let app = TestApp::sqlite().await;
    for (method, path, allowed) in [
        (Method::GET, "/internal/v1/releases", "POST"),
        (Method::DELETE, "/internal/v1/buyers/me", "GET"),
        (Method::PUT, "/v1/ops/hubs", "POST"),
        (Method::POST, "/healthz", "GET"),
    ] {
        let reply = app
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {:?}",
            reply.body
        );
        assert_eq!(reply.error(), "method_not_allowed", "{method} {path}");
        let allow = reply
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_ops_token_and_made_up_methods_add_no_series() {
    let app = TestApp::sqlite().await;
    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "unauthorized");
    let wrong = app
        .send(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, "Bearer not-the-ops-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    for junk in ["BREW", "PROPFIND", "X-LASTHOP"] {
        for path in ["/v1/ops/hubs", "/no/such/path"] {
            let method = Method::from_bytes(junk.as_bytes()).unwrap();
            let reply = app
                .send(
                    Request::builder()
                        .method(method)
                        .uri(path)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert!(
                reply.status.is_client_error(),
                "{junk} {path}: {}",
                reply.status
            );
        }
    }
    let metrics = app.ops(Method::GET, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics.headers.get(header::CONTENT_TYPE).unwrap(),
        lasthop_origin::routes::public::METRICS_CONTENT_TYPE
    );
    let text = metrics.body.as_str().unwrap_or_default();
    for junk in ["BREW", "PROPFIND", "X-LASTHOP", "/no/such/path"] {
        assert!(!text.contains(junk), "{junk} became a label:\n{text}");
    }
    assert!(text.contains("method=\"other\""), "{text}");
}
