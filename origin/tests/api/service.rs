//! The origin as a service: the real `lasthop-origin` binary started from a configuration
//! file, its JSON log, `/readyz`, and a graceful stop on SIGTERM that lets a request in
//! flight finish.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// `lasthop-origin serve --config <file>` on fresh SQLite files, stderr (the log) to a file.
struct Served {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(extra_config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = env!("CARGO_BIN_EXE_lasthop-origin");
        let keygen = Command::new(bin)
            .args(["keygen", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(keygen.status.success(), "{keygen:?}");
        let port = free_port();
        let config = dir.path().join("origin.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\n\
                 directory_url = \"sqlite://{d}/directory.db\"\n\
                 vault_url = \"sqlite://{d}/vault.db\"\n\
                 master_keys_file = \"{d}/master.keys\"\n\
                 ops_token_file = \"{d}/ops.token\"\n{extra_config}",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let log = dir.path().join("origin.log");
        let child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut served = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        served.wait_ready();
        served
    }

    fn ops_token(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("ops.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("origin exited ({status}): {}", self.log_text());
            }
            if let Ok((200, _)) = get(self.port, "/readyz") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("origin not ready: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "origin did not exit: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `GET` over a fresh connection: (status, body).
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    request(port, "GET", path)
}

/// One bodiless request over a fresh connection: (status, body).
fn request(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )?;
    read_response(&mut stream)
}

fn read_response(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn a_request_in_flight_at_sigterm_is_answered_and_the_origin_then_exits_cleanly() {
    let mut origin = Served::start("");
    let body = br#"{"level":"district","code":"110105","name":"Chaoyang hub"}"#;
    let (first, rest) = body.split_at(20);
    let mut slow = TcpStream::connect(("127.0.0.1", origin.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        slow,
        "POST /v1/ops/hubs HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        origin.ops_token(),
        body.len()
    )
    .unwrap();
    slow.write_all(first).unwrap();
    slow.flush().unwrap();
    // The server has the headers and part of the body: the request is in flight.
    std::thread::sleep(Duration::from_millis(200));

    origin.terminate();
    origin.wait_for_log("shutting down");
    // Draining: the listener closes (at once after the signal is handled; a connection
    // accepted just before that is still served), while the old request stays in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(origin.port, "/healthz").is_ok() {
        assert!(
            Instant::now() < deadline,
            "new connections were still served 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        origin.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    slow.write_all(rest).unwrap();
    let (status, answer) = read_response(&mut slow).unwrap();
    assert_eq!(status, 201, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["hub_id"].as_str().is_some_and(|id| !id.is_empty()));

    let exit = origin.wait_exit();
    assert!(exit.success(), "{exit}: {}", origin.log_text());
    assert!(origin.log_text().contains("origin stopped"));
}

#[test]
fn the_log_is_one_json_object_a_line_with_levels_and_route_templates() {
    let mut origin = Served::start("log_format = \"json\"\n");
    // No ops token: refused, and logged by its route template.
    let (status, _) = request(
        origin.port,
        "DELETE",
        "/v1/ops/scanners/sc_0123456789abcdef",
    )
    .unwrap();
    assert_eq!(status, 401);
    origin.terminate();
    assert!(origin.wait_exit().success());
    let log = origin.log_text();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    let request = lines
        .iter()
        .find(|l| l["message"] == "request" && l["status"] == 401)
        .unwrap_or_else(|| panic!("no request line in {log}"));
    // The template, never the path with its id.
    assert_eq!(request["route"], "/v1/ops/scanners/{scanner_id}");
    assert!(!log.contains("sc_0123456789abcdef"));
}

#[test]
fn a_configuration_file_with_a_password_is_refused_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("origin.toml");
    std::fs::write(
        &config,
        "vault_url = \"postgres://lasthop_vault:hunter2@db/lasthop_vault\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lasthop-origin"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("carries a password"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!Path::new(&dir.path().join("lasthop-vault.db")).exists());
}

async fn readyz(app: &TestApp) -> crate::helpers::Reply {
    app.send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
}

#[tokio::test]
async fn readyz_reports_each_store_and_the_components_not_configured() {
    let app = TestApp::sqlite().await;
    let reply = readyz(&app).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "ready");
    let status_of = |name: &str| {
        reply.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of("directory").as_deref(), Some("up"));
    assert_eq!(status_of("vault").as_deref(), Some("up"));
    assert_eq!(
        status_of("vault_standby").as_deref(),
        Some("not_configured")
    );
    assert_eq!(status_of("temporary_table").as_deref(), Some("up"));
    assert_eq!(reply.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn readyz_stays_ready_without_the_vault_and_answers_503_without_the_directory() {
    let app = TestApp::sqlite().await;
    let states = |reply: &crate::helpers::Reply| -> Vec<(String, String)> {
        reply.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // The vault stops answering: the origin still serves (the temporary table takes its
    // writes), and says the vault is down.
    app.state
        .stores()
        .vault
        .primary_pool()
        .unwrap()
        .close()
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let reply = loop {
        let reply = readyz(&app).await;
        if states(&reply).contains(&("vault".to_owned(), "down".to_owned())) {
            break reply;
        }
        assert!(Instant::now() < deadline, "{:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "ready");
    assert!(states(&reply).contains(&("temporary_table".to_owned(), "up".to_owned())));

    // The directory stops answering: nothing can be served.
    app.state.stores().directory.pool().close().await;
    let reply = readyz(&app).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["status"], "not_ready");
    let down: Vec<String> = states(&reply)
        .into_iter()
        .filter(|(_, status)| status == "down")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(down, ["directory", "vault", "temporary_table"]);
}
