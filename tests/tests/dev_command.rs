//! `cargo xtask dev` end to end: the built xtask binary brings up the origin and `wrangler dev`
//! on free ports (and, with `--vault postgres`, three PostgreSQL clusters: the directory, the
//! vault primary and its streaming standby), writes dev.json once everything answers, and a
//! single SIGTERM leaves no lasthop, wrangler, workerd or PostgreSQL process behind.

// Tests may unwrap: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lasthop_e2e::procfs::{self, ProcInfo};
use lasthop_e2e::{free_port, log_tail, Client, Workspace};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// A fresh directory for this test's state, removed when the test passes.
fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("lasthop-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills the whole group if the test fails half-way, so a failure leaves nothing running.
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let mut groups: HashSet<i32> = procfs::descendants(self.0).iter().map(|p| p.pgid).collect();
        groups.insert(self.0);
        for pgid in groups {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

fn wait_for_file(path: &Path, child: &mut Child, log: &Path, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            // Written in one call, but read until it parses in case we catch it half-written.
            if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                return text;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "xtask dev exited with {status} before writing dev.json:\n{}",
                log_tail(log, 60)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no dev.json after {within:?}:\n{}",
            log_tail(log, 60)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs `lasthop-terminal` with a state folder against the dev edge; its standard output.
fn terminal(binary: &Path, state: &Path, edge_url: &str, args: &[&str]) -> String {
    let output = Command::new(binary)
        .arg("--state")
        .arg(state)
        .args(["--edge", edge_url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "lasthop-terminal {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The Alibaba seed's route through `lasthop-terminal`: a buyer in Chaoyang (110105) ordering
/// from Binjiang (330108); pickup at 330108, then 330108 → 3301 → 1101 → 110105, deliver. Each
/// hub's terminal makes its device keys, ops enrols them, and the final hub's terminal opens
/// and shows the recipient. Afterwards neither the terminals' files nor the edge's state hold
/// any trace of the recipient.
fn alibaba_journey_through_the_terminal(
    workspace: &Workspace,
    edge_url: &str,
    origin_url: &str,
    ops_token: &str,
    edge_state: &Path,
    dir: &Path,
) {
    use serde_json::{json, Value};
    let binary = workspace
        .cargo_binary("lasthop-terminal", "lasthop-terminal")
        .unwrap();
    let edge = Client::new(edge_url);
    let origin = Client::new(origin_url);
    let (name, phone, line, postal) = (
        "Alibaba Seed Buyer",
        "+86 139 2468 1357",
        "Seed Road 9, Unit 1101",
        "100020",
    );
    let buyer = edge
        .post("/v1/buyers")
        .json(&json!({"platform_id": "demo", "name": name, "phone": phone,
                      "address": {"country": "CN", "region": "110105", "line": line,
                                  "postal_code": postal, "label": "home"}}))
        .send()
        .unwrap();
    assert_eq!(buyer.status, 201, "{}", buyer.body);
    let buyer: Value = buyer.json().unwrap();
    let seller: Value = edge
        .post("/v1/sellers")
        .json(&json!({"platform_id": "demo", "name": "Binjiang Seed Shop"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let order: Value = edge
        .post("/v1/orders")
        .bearer(buyer["buyer_token"].as_str().unwrap())
        .json(&json!({"seller_id": seller["seller_id"], "address_id": buyer["address_id"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let order_id = order["order_id"].as_str().unwrap();
    // One terminal per scanner: keys made on the device, the public halves enrolled by ops.
    let enrol = |label: &str, code: &str, role: &str| {
        let state = dir.join(label);
        let device: Value =
            serde_json::from_str(&terminal(&binary, &state, edge_url, &["enroll"])).unwrap();
        let level = if code.len() == 4 { "city" } else { "district" };
        let hub: Value = origin
            .post("/v1/ops/hubs")
            .bearer(ops_token)
            .json(&json!({"code": code, "level": level, "name": format!("Seed hub {code}")}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let scanner = origin
            .post("/v1/ops/scanners")
            .bearer(ops_token)
            .json(&json!({"hub_id": hub["hub_id"], "role": role, "device": device}))
            .send()
            .unwrap();
        assert_eq!(scanner.status, 201, "{}", scanner.body);
        let token = scanner.json().unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        terminal(&binary, &state, edge_url, &["set-token", &token]);
        state
    };
    let pickup = enrol("pickup-330108", "330108", "pickup");
    let hubs: Vec<PathBuf> = ["330108", "3301", "1101", "110105"]
        .iter()
        .map(|code| enrol(&format!("hub-{code}"), code, "hub"))
        .collect();
    let picked = terminal(
        &binary,
        &pickup,
        edge_url,
        &[
            "pickup",
            "--order",
            order_id,
            "--buyer",
            buyer["buyer_id"].as_str().unwrap(),
            "--waybill",
            "SF-SEED-1",
        ],
    );
    assert!(picked.contains("picked_up"), "{picked}");
    let mut shown = String::new();
    for (state, expected) in hubs
        .iter()
        .zip(["forward_up", "route_to", "route_to", "deliver"])
    {
        shown = terminal(&binary, state, edge_url, &["hop", "--order", order_id]);
        assert!(shown.contains(expected), "expected {expected}: {shown}");
    }
    // The final hub's terminal shows the recipient it opened (the phone as the vault
    // normalised it).
    for value in [name, "+8613924681357", line, postal] {
        assert!(
            shown.contains(value),
            "the terminal does not show {value}: {shown}"
        );
    }
    let final_hub = &hubs[3];
    let delivered = terminal(
        &binary,
        final_hub,
        edge_url,
        &[
            "deliver",
            "--order",
            order_id,
            "--signature",
            "signed by the seed buyer",
        ],
    );
    assert!(delivered.contains("delivered"), "{delivered}");
    // No trace of the recipient in any terminal's files or in the edge's state.
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf(), edge_state.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("device.json")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        for value in [name, phone, line, "13924681357"] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{} holds {value}",
                file.display()
            );
        }
    }
}

fn port_is_closed(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_err()
}

#[test]
fn dev_brings_up_both_services_and_one_sigterm_leaves_no_process_behind() {
    run_dev_until_sigterm("dev-command", &[], |_| Vec::new());
}

#[test]
fn dev_on_postgres_runs_a_directory_and_a_vault_primary_with_its_standby_and_stops_them_all() {
    if !lasthop_e2e::postgres::required().unwrap() {
        return;
    }
    run_dev_until_sigterm("dev-command-pg", &["--vault", "postgres"], |info| {
        let mut ports = Vec::new();
        for cluster in ["directory", "vault_primary", "vault_standby"] {
            let port = info[cluster]["port"].as_u64().unwrap();
            let data = PathBuf::from(info[cluster]["data_dir"].as_str().unwrap());
            let pid = i32::try_from(info[cluster]["pid"].as_i64().unwrap()).unwrap();
            assert!(
                data.join("PG_VERSION").is_file(),
                "{cluster}: {}",
                data.display()
            );
            assert!(
                procfs::info(pid).is_some_and(|p| !p.is_zombie()),
                "{cluster} pid {pid}"
            );
            assert!(
                !port_is_closed(u16::try_from(port).unwrap()),
                "{cluster} port {port}"
            );
            ports.push(u16::try_from(port).unwrap());
        }
        // The origin writes to the primary and knows its standby.
        let origin = Client::new(info["origin_url"].as_str().unwrap());
        let health = origin.get("/healthz").send().unwrap().json().unwrap();
        assert_eq!(health["vault"]["writes_to"], "primary", "{health}");
        assert_eq!(health["vault"]["standby"], "read_only", "{health}");
        ports
    });
}

/// Starts `cargo xtask dev` with `args`, checks what both tests check and what `check` checks
/// in dev.json (it returns further ports that must be closed at the end), sends one SIGTERM
/// and proves nothing is left running.
fn run_dev_until_sigterm(
    name: &str,
    args: &[&str],
    check: impl Fn(&serde_json::Value) -> Vec<u16>,
) {
    let workspace = Workspace::locate().unwrap();
    let xtask = workspace.cargo_binary("xtask", "xtask").unwrap();
    let dir = temp_dir(name);
    let state_dir = dir.join("dev");
    let dev_json = dir.join("dev.json");
    let log = dir.join("xtask-dev.log");
    let (edge_port, origin_port) = (free_port().unwrap(), free_port().unwrap());

    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(&xtask)
        .current_dir(workspace.root())
        .arg("dev")
        .args(["--edge-port", &edge_port.to_string()])
        .args(["--origin-port", &origin_port.to_string()])
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--dev-json")
        .arg(&dev_json)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        // Its own group, like a shell job: the SIGTERM below goes to xtask alone, and the
        // guard can clean up everything if an assertion fails first.
        .process_group(0)
        .spawn()
        .unwrap();
    let xtask_pid = i32::try_from(child.id()).unwrap();
    let _guard = GroupGuard(xtask_pid);

    // Setup and the Worker build run first; both are quick when already done, slow when not.
    let text = wait_for_file(&dev_json, &mut child, &log, Duration::from_secs(900));
    let info: serde_json::Value = serde_json::from_str(&text).unwrap();
    let edge_url = info["edge_url"].as_str().unwrap();
    let origin_url = info["origin_url"].as_str().unwrap();
    assert_eq!(edge_url, format!("http://127.0.0.1:{edge_port}"));
    assert_eq!(origin_url, format!("http://127.0.0.1:{origin_port}"));
    assert!(!info["ops_token"].as_str().unwrap().trim().is_empty());
    let edge_state = PathBuf::from(info["edge_state_dir"].as_str().unwrap());
    assert!(edge_state.starts_with(std::fs::canonicalize(&state_dir).unwrap()));
    // Development keys were generated into the state dir on this first run.
    assert!(state_dir.join("master.keys").is_file());
    assert!(state_dir.join(".dev.vars").is_file());

    assert_eq!(
        Client::new(edge_url).get("/healthz").send().unwrap().status,
        200
    );
    assert_eq!(
        Client::new(origin_url)
            .get("/healthz")
            .send()
            .unwrap()
            .status,
        200
    );

    let more_ports = check(&info);

    alibaba_journey_through_the_terminal(
        &workspace,
        edge_url,
        origin_url,
        info["ops_token"].as_str().unwrap().trim(),
        &edge_state,
        &dir.join("terminals"),
    );

    // Everything xtask started, with start times so a reused pid is not mistaken for a survivor.
    let started: Vec<ProcInfo> = procfs::descendants(xtask_pid);
    let names: HashSet<&str> = started.iter().map(|p| p.comm.as_str()).collect();
    assert!(
        started.iter().any(|p| p.cmdline.contains("lasthop-origin")),
        "no origin among {names:?}"
    );
    assert!(
        started.iter().any(|p| p.cmdline.contains("wrangler")),
        "no wrangler among {names:?}"
    );
    assert!(
        started.iter().any(|p| p.cmdline.contains("workerd")),
        "no workerd among {names:?}"
    );
    let groups: HashSet<i32> = started.iter().map(|p| p.pgid).collect();

    kill(Pid::from_raw(xtask_pid), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "xtask dev still running 30 s after SIGTERM:\n{}",
            log_tail(&log, 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "xtask dev exited with {status}:\n{}",
        log_tail(&log, 40)
    );

    let survivors: Vec<&ProcInfo> = started.iter().filter(|p| p.is_alive()).collect();
    assert!(survivors.is_empty(), "left behind: {survivors:#?}");
    let in_groups: Vec<ProcInfo> = procfs::all()
        .into_iter()
        .filter(|p| groups.contains(&p.pgid) && !p.is_zombie())
        .collect();
    assert!(
        in_groups.is_empty(),
        "still in the children's groups: {in_groups:#?}"
    );
    assert!(
        port_is_closed(edge_port),
        "edge port {edge_port} still open"
    );
    assert!(
        port_is_closed(origin_port),
        "origin port {origin_port} still open"
    );
    for port in more_ports {
        assert!(port_is_closed(port), "port {port} still open");
    }

    std::fs::remove_dir_all(&dir).unwrap();
}
