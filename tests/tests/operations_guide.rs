//! `docs/operations.md`, followed step by step as an operator would: every `sh` block of the
//! guide runs, exactly as written and in order, in one `bash` (`set -euo pipefail`) from the
//! repository root, on throwaway PostgreSQL clusters and a local `wrangler dev`. Blocks marked
//! `operator` (cloud or host only: `wrangler deploy`, `wrangler secret put`, `systemctl`) are
//! not run; the `local` block that must follow each is run instead. The `site` block's
//! variables are set by this test to its throwaway places.
//!
//! Between steps the test acts as the world around the operator: it drives journeys through
//! the edge (so there are releases to watch and audit), kills the vault's primary before step 8
//! promotes the standby the guide made in step 4 (a registration during the outage must be
//! answered, and the temporary table must drain into the promoted server), puts load on the
//! service while step 9 takes the backup, and moves the databases to new clusters before step
//! 10 restores them. Afterwards every registration and release acknowledged before the backup
//! started must be in the restored service, read back through the edge and the ops API.
//!
//! Skipped only when PostgreSQL is missing and `LASTHOP_SKIP_POSTGRES=1` says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{contains_bytes, state_dir, text, Person, Shop};
use lasthop_e2e::postgres::{self, PgCluster, PgOptions};
use lasthop_e2e::{free_port, Client, Workspace};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// The steps the issue asks the guide to cover, by number.
const STEPS: &[(u32, &str)] = &[
    (0, "Before you start"),
    (1, "Provision the databases"),
    (2, "Keys and secrets"),
    (3, "Deploy the Worker"),
    (4, "Start the origin"),
    (5, "Issue and revoke scanners"),
    (6, "Rotate keys and numbers"),
    (7, "Watch the metrics"),
    (8, "Promote the standby"),
    (9, "Back up"),
    (10, "Restore"),
    (11, "Verify the audit"),
];

// ---- the guide as data ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Run as written.
    Run,
    /// The site's values: set by the test.
    Site,
    /// Production only: replaced by the `local` block after it.
    Operator,
    /// The local form of the `operator` block before it.
    Local,
}

#[derive(Debug, Clone)]
struct Block {
    kind: Kind,
    code: String,
}

#[derive(Debug, Clone)]
struct Step {
    number: u32,
    title: String,
    blocks: Vec<Block>,
}

/// The numbered steps (`## N. Title`) and their fenced `sh` blocks.
fn parse(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut fence: Option<(Option<Kind>, String)> = None;
    for line in markdown.lines() {
        if let Some((kind, code)) = fence.as_mut() {
            if line.trim_start().starts_with("```") {
                if let (Some(kind), Some(step)) = (*kind, steps.last_mut()) {
                    step.blocks.push(Block {
                        kind,
                        code: std::mem::take(code),
                    });
                }
                fence = None;
            } else {
                code.push_str(line);
                code.push('\n');
            }
        } else if let Some(info) = line.trim_start().strip_prefix("```") {
            let kind = match info.trim() {
                "sh" => Some(Kind::Run),
                "sh site" => Some(Kind::Site),
                "sh operator" => Some(Kind::Operator),
                "sh local" => Some(Kind::Local),
                other => {
                    assert!(!other.starts_with("sh"), "unknown block kind `{other}`");
                    None
                }
            };
            fence = Some((kind, String::new()));
        } else if let Some(heading) = line.strip_prefix("## ") {
            if let Some((number, title)) = heading.split_once(". ") {
                if let Ok(number) = number.parse() {
                    steps.push(Step {
                        number,
                        title: title.trim().to_owned(),
                        blocks: Vec::new(),
                    });
                }
            }
        }
    }
    assert!(fence.is_none(), "an unclosed code block");
    steps
}

/// Checks the guide's shape: every step the issue asks for, in order, and every operator
/// block followed by its local form.
fn check_shape(steps: &[Step]) {
    let found: Vec<(u32, &str)> = steps.iter().map(|s| (s.number, s.title.as_str())).collect();
    assert_eq!(found, STEPS, "the guide's numbered steps");
    for step in steps {
        for (i, block) in step.blocks.iter().enumerate() {
            if block.kind == Kind::Operator {
                assert_eq!(
                    step.blocks.get(i + 1).map(|b| b.kind),
                    Some(Kind::Local),
                    "step {}: an operator block without its local form",
                    step.number
                );
            }
            if block.kind == Kind::Local {
                assert!(
                    i > 0 && step.blocks[i - 1].kind == Kind::Operator,
                    "step {}: a local block that replaces nothing",
                    step.number
                );
            }
        }
    }
}

/// The variables the `site` blocks export.
fn site_variables(steps: &[Step]) -> BTreeSet<String> {
    steps
        .iter()
        .flat_map(|s| &s.blocks)
        .filter(|b| b.kind == Kind::Site)
        .flat_map(|b| b.code.lines())
        .filter_map(|l| l.trim().strip_prefix("export "))
        .flat_map(|assignments| {
            assignments
                .split_whitespace()
                .filter_map(|a| a.split_once('=').map(|(name, _)| name.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One bash script: each step announces itself on stdout (`::step N`), waits until the test
/// says go (a file `go.N` in `control`), reads the inputs the test left, then runs its blocks.
fn script(steps: &[Step], control: &Path) -> String {
    let mut out = format!(
        "set -euo pipefail\n\
         __step() {{\n  printf '\\n::step %s\\n' \"$1\"\n  \
           while [ ! -e '{c}/go.'\"$1\" ]; do sleep 0.05; done\n  \
           if [ -f '{c}/inputs.sh' ]; then . '{c}/inputs.sh'; fi\n}}\n",
        c = control.display()
    );
    for step in steps {
        out.push_str(&format!("__step {}\n", step.number));
        for block in &step.blocks {
            if matches!(block.kind, Kind::Run | Kind::Local) {
                out.push_str(&block.code);
            }
        }
    }
    out.push_str("printf '\\n::done\\n'\n");
    out
}

#[test]
fn the_guide_has_every_step_and_a_local_form_for_every_operator_block() {
    let steps = parse(&guide_text());
    check_shape(&steps);
    let script = script(&steps, Path::new("/ctl"));
    assert!(script.contains("lasthop-origin provision"));
    assert!(script.contains("--dry-run"));
    assert!(
        !script.contains("wrangler secret put"),
        "an operator block would run"
    );
    assert!(!script.contains("systemctl"), "an operator block would run");
}

#[test]
fn parse_finds_steps_blocks_and_their_kinds() {
    let steps = parse(
        "# Title\n## 0. First\ntext\n```sh site\nexport A=1 B=2\n```\n## 1. Second\n\
         ```toml\nx = 1\n```\n```sh operator\nsystemctl start x\n```\n```sh local\nx &\n```\n",
    );
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1].title, "Second");
    let kinds: Vec<Kind> = steps[1].blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [Kind::Operator, Kind::Local]);
    assert_eq!(
        site_variables(&steps),
        ["A", "B"].map(String::from).into_iter().collect()
    );
}

fn guide_text() -> String {
    let path = Workspace::locate()
        .unwrap()
        .root()
        .join("docs/operations.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- running it -----------------------------------------------------------------------------

/// The guide's bash, in its own process group: everything it started in the background (the
/// origin, `wrangler dev` and workerd) is stopped with it.
struct GuideRun {
    child: Child,
    lines: mpsc::Receiver<String>,
    transcript: Arc<Mutex<Vec<String>>>,
    control: PathBuf,
    stderr: PathBuf,
}

impl GuideRun {
    fn start(script: &str, env: &[(String, String)], dir: &Path) -> Self {
        use std::os::unix::process::CommandExt as _;
        let control = dir.join("control");
        std::fs::create_dir_all(&control).unwrap();
        let stderr = dir.join("guide.stderr");
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(Workspace::locate().unwrap().root())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&transcript);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            transcript,
            control,
            stderr,
        }
    }

    /// Waits for the guide to reach `::step N` (or `::done` for `None`).
    fn reach(&mut self, step: Option<u32>) {
        let want = step.map_or_else(|| "::done".to_owned(), |n| format!("::step {n}"));
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == want => return,
                Ok(line) if line.starts_with("::") => {
                    self.fail(&format!("got {line}, wanted {want}"))
                }
                Ok(_) => {}
                Err(_) => self.fail(&format!("the guide did not reach {want}")),
            }
        }
    }

    /// Lets step `n` run, after writing the inputs it needs.
    fn go(&self, n: u32, inputs: &[(&str, String)]) {
        let mut text = String::new();
        for (name, value) in inputs {
            text.push_str(&format!("export {name}='{value}'\n"));
        }
        std::fs::write(self.control.join("inputs.sh"), text).unwrap();
        std::fs::write(self.control.join(format!("go.{n}")), "").unwrap();
    }

    fn fail(&mut self, what: &str) -> ! {
        let status = self.child.try_wait().ok().flatten();
        let transcript = self.transcript.lock().unwrap().join("\n");
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: String = stderr
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        panic!("{what} (bash: {status:?})\n--- stdout ---\n{transcript}\n--- stderr (tail) ---\n{tail}");
    }

    fn finish(&mut self) {
        self.reach(None);
        let status = self.child.wait().unwrap();
        if !status.success() {
            self.fail("the guide's script failed");
        }
    }
}

impl Drop for GuideRun {
    fn drop(&mut self) {
        let group = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = killpg(group, Signal::SIGTERM);
        std::thread::sleep(Duration::from_millis(500));
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

// ---- the world around the operator ----------------------------------------------------------

fn person(n: u64) -> Person {
    Person {
        name: format!("运维测试买家{n:05}"),
        phone: format!("1370{n:07}"),
        region: "110105".into(),
        line: format!("运维测试路{n}号"),
        postal_code: "100020".into(),
    }
}

/// One buyer and one released order, through the edge: (buyer, order id, release id).
fn journey(
    shop: &Shop,
    n: u64,
    seller: &common::Seller,
    pickup: &common::Scanner,
    hub: &common::Scanner,
) -> (common::Buyer, String, String) {
    let buyer = shop.register_buyer(&person(n));
    let order = shop.create_order(&buyer, seller);
    let picked = shop.pickup(pickup, &order, &buyer.id);
    assert_eq!(picked.status, 200, "pickup: {}", picked.body);
    let released = shop.hop(hub, &order);
    assert_eq!(released.status, 200, "final hop: {}", released.body);
    let verdict = released.json().unwrap();
    assert_eq!(verdict["verdict"], "deliver", "{verdict}");
    let release_id = text(&verdict, "release_id");
    (buyer, order, release_id)
}

/// Rows of the vault's sealed tables still under key version 1, read as the vault's admin.
fn vault_rows_under_version_1(admin_url: &str) -> i64 {
    common::with_pool(admin_url, |pool| async move {
        let mut rows = 0;
        for condition in [
            "address_records WHERE key_version = 1 OR blind_index NOT LIKE 'v%'",
            "contact_records WHERE key_version = 1",
            "entry_records WHERE key_version = 1",
        ] {
            rows += sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {condition}"))
                .fetch_one(&pool)
                .await
                .unwrap();
        }
        rows
    })
}

/// What the load got acknowledged, with when.
#[derive(Default)]
struct Acks {
    registrations: Vec<(Instant, common::Buyer)>,
    releases: Vec<(Instant, String, String)>,
}

/// Journeys from `threads` threads until `stop`: every acknowledgement recorded.
fn load(
    shop: &Shop,
    threads: u64,
    stop: &Arc<AtomicBool>,
    acks: &Arc<Mutex<Acks>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let (shop, stop, acks) = (shop.clone(), Arc::clone(stop), Arc::clone(acks));
            std::thread::spawn(move || {
                let seller = shop.register_seller(&format!("Load shop {t}"));
                let pickup = shop.scanner("110105", "pickup");
                let hub = shop.scanner("110105", "hub");
                let mut n = 1_000 * (t + 1);
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let buyer = shop.register_buyer(&person(n));
                    acks.lock()
                        .unwrap()
                        .registrations
                        .push((Instant::now(), buyer.clone()));
                    let order = shop.create_order(&buyer, &seller);
                    let picked = shop.pickup(&pickup, &order, &buyer.id);
                    assert_eq!(picked.status, 200, "pickup under load: {}", picked.body);
                    let released = shop.hop(&hub, &order);
                    assert_eq!(
                        released.status, 200,
                        "final hop under load: {}",
                        released.body
                    );
                    let release_id = text(&released.json().unwrap(), "release_id");
                    acks.lock()
                        .unwrap()
                        .releases
                        .push((Instant::now(), order, release_id));
                }
            })
        })
        .collect()
}

fn audit_release_ids(origin: &Client, ops_token: &str, order: &str) -> Vec<String> {
    let reply = origin
        .get(&format!("/v1/ops/audit?order_id={order}"))
        .bearer(ops_token)
        .send()
        .unwrap();
    assert_eq!(reply.status, 200, "audit: {}", reply.body);
    reply.json().unwrap()["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(r, "release_id"))
        .collect()
}

/// The standby the guide creates with its own commands (`pg_basebackup`, `pg_ctl start`): the
/// test stops it when done, as `pg_ctl` detached it from the guide's process group.
struct GuideStandby {
    data: PathBuf,
    as_nobody: bool,
}

impl GuideStandby {
    /// Its parent folder, writable by the user PostgreSQL runs as (`nobody` when we are root).
    fn prepare(dir: &Path) -> Self {
        let as_nobody = nix::unistd::geteuid().is_root();
        std::fs::create_dir_all(dir).unwrap();
        if as_nobody {
            let status = Command::new("chown")
                .arg("nobody")
                .arg(dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown nobody {}", dir.display());
        }
        Self {
            data: dir.join("data"),
            as_nobody,
        }
    }

    /// The site's `LASTHOP_PG_USER`.
    fn user(&self) -> String {
        if self.as_nobody {
            return "nobody".to_owned();
        }
        let out = Command::new("id").arg("-un").output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for GuideStandby {
    fn drop(&mut self) {
        if !self.data.join("postmaster.pid").exists() {
            return;
        }
        let pg_ctl = postgres::tool("pg_ctl");
        let mut stop = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let _ = stop
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The origin's `/healthz`, once it satisfies `done` (within `within`).
fn health_until(origin: &Client, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let health = origin.get("/healthz").send().unwrap();
        if let Ok(body) = health.json() {
            if done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "health never got there: {body}");
        }
        assert!(Instant::now() < deadline, "no health: {}", health.body);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_operator_following_the_guide_stands_lasthop_up_backs_it_up_under_load_and_restores_it() {
    if !postgres::required().unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let steps = parse(&guide_text());
    check_shape(&steps);
    let dir = state_dir("operations-guide");
    let first = PgCluster::primary(PgOptions::throwaway(dir.join("pg-first"))).unwrap();
    let mut vault_primary =
        PgCluster::primary(PgOptions::throwaway(dir.join("pg-vault-primary"))).unwrap();
    let standby = GuideStandby::prepare(&dir.join("pg-vault-standby"));
    let origin_port = free_port().unwrap();
    let edge_port = free_port().unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let site: Vec<(String, String)> = [
        ("LASTHOP_ETC", dir.join("etc").display().to_string()),
        ("LASTHOP_STATE", dir.join("state").display().to_string()),
        ("LASTHOP_BACKUPS", dir.join("backups").display().to_string()),
        ("LASTHOP_ADMIN_URL", first.admin_url("postgres")),
        ("LASTHOP_DB_HOST", "127.0.0.1".to_owned()),
        ("LASTHOP_DB_PORT", first.port().to_string()),
        (
            "LASTHOP_VAULT_ADMIN_URL",
            vault_primary.admin_url("postgres"),
        ),
        ("LASTHOP_VAULT_HOST", "127.0.0.1".to_owned()),
        ("LASTHOP_VAULT_PORT", vault_primary.port().to_string()),
        ("LASTHOP_STANDBY_HOST", "127.0.0.1".to_owned()),
        ("LASTHOP_STANDBY_PORT", free_port().unwrap().to_string()),
        ("LASTHOP_STANDBY_DATA", standby.data.display().to_string()),
        ("LASTHOP_PG_USER", standby.user()),
        ("LASTHOP_ORIGIN_LISTEN", format!("127.0.0.1:{origin_port}")),
        ("LASTHOP_EDGE_URL", format!("http://127.0.0.1:{edge_port}")),
        ("LASTHOP_EDGE_PORT", edge_port.to_string()),
        (
            "LASTHOP_EDGE_INSPECTOR_PORT",
            free_port().unwrap().to_string(),
        ),
        // The PostgreSQL client tools beside the server binaries the launcher uses.
        (
            "PATH",
            format!(
                "{}:{path}",
                postgres::tool("pg_dump").parent().unwrap().display()
            ),
        ),
        ("WRANGLER_SEND_METRICS", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let provided: BTreeSet<String> = site.iter().map(|(k, _)| k.clone()).collect();
    for name in site_variables(&steps) {
        assert!(
            provided.contains(&name),
            "the guide's site variable {name} is not set by the test"
        );
    }

    let mut guide = GuideRun::start(&script(&steps, &dir.join("control")), &site, &dir);
    for n in 0..=5 {
        guide.reach(Some(n));
        guide.go(n, &[]);
    }
    guide.reach(Some(6));
    // Steps 0-5 ran: the stack is up. Journeys through it give the later steps something to
    // rotate, watch and audit.
    let ops_token = std::fs::read_to_string(dir.join("etc/secrets/ops.token"))
        .unwrap()
        .trim()
        .to_owned();
    let edge = Client::new(format!("http://127.0.0.1:{edge_port}"));
    let origin = Client::new(format!("http://127.0.0.1:{origin_port}"));
    let shop = Shop::new(edge.clone(), origin.clone(), ops_token.clone());
    let seller = shop.register_seller("Guide shop");
    let (pickup, hub) = (
        shop.scanner("110105", "pickup"),
        shop.scanner("110105", "hub"),
    );
    let (first_buyer, first_order, first_release) = journey(&shop, 1, &seller, &pickup, &hub);
    guide.go(6, &[("ADDRESS_ID", first_buyer.address_id.clone())]);
    guide.reach(Some(7));
    // Step 6 rotated the master keys, restarted both services with them and re-sealed the
    // vault; retiring version 1 was refused, naming why.
    let transcript = guide.transcript.lock().unwrap().join("\n");
    assert!(
        transcript.contains("added master key version 2")
            && transcript.contains("master key version 1 is still needed"),
        "{transcript}"
    );
    let stderr = std::fs::read_to_string(&guide.stderr).unwrap();
    assert!(
        stderr.contains("refusing to retire master key version 1")
            && stderr.contains("1 orders not yet delivered")
            && stderr.contains("--end-credentials"),
        "{stderr}"
    );
    let ring = std::fs::read_to_string(dir.join("etc/secrets/master.keys")).unwrap();
    assert_eq!(ring.lines().filter(|l| !l.trim().is_empty()).count(), 2);
    assert_eq!(
        vault_rows_under_version_1(&vault_primary.admin_url("lasthop_vault")),
        0,
        "keys rewrap left records under version 1"
    );
    // The restarted edge and origin carry on: scanners and sessions of version 1, a journey.
    let (rotated_buyer, _, _) = journey(&shop, 3, &seller, &pickup, &hub);
    assert_eq!(shop.profile(&first_buyer).status, 200);
    assert_eq!(shop.profile(&rotated_buyer).status, 200);
    guide.go(7, &[]);

    // The vault's primary is lost before step 8: registrations go on through the temporary
    // table, and step 8 promotes the standby the guide made in step 4.
    guide.reach(Some(8));
    let promotion = Instant::now();
    vault_primary.kill();
    health_until(&origin, Duration::from_secs(10), |h| {
        h["vault"]["writes_to"] == "temporary_table" && h["vault"]["reads_from"] == "standby"
    });
    let outage_buyer = shop.register_buyer(&person(2));
    let queued = health_until(&origin, Duration::from_secs(1), |_| true);
    assert!(
        queued["temporary_table"]["depth"].as_i64().unwrap() >= 1,
        "the registration did not wait in the temporary table: {queued}"
    );
    guide.go(8, &[]);
    guide.reach(Some(9));
    let drained = health_until(&origin, Duration::from_secs(5), |h| {
        h["vault"]["writes_to"] == "standby" && h["temporary_table"]["depth"] == 0
    });
    let profile = shop.profile(&outage_buyer);
    assert_eq!(profile.status, 200, "after promotion: {}", profile.body);
    assert_eq!(
        profile.json().unwrap()["name"],
        json!(outage_buyer.person.name)
    );
    eprintln!(
        "operations guide: primary killed, standby promoted and the temporary table drained in {:.1} s ({drained})",
        promotion.elapsed().as_secs_f64()
    );

    // Step 9 takes the backup while journeys keep coming.
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Acks::default()));
    let loaders = load(&shop, 2, &stop, &acks);
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.lock().unwrap().releases.len() < 6 {
        assert!(
            loaders.iter().all(|l| !l.is_finished()),
            "a load thread stopped early (its panic follows when joined)"
        );
        assert!(
            Instant::now() < deadline,
            "the load made no 6 releases in 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let backup_started = Instant::now();
    guide.go(9, &[]);
    guide.reach(Some(10));
    let backup_done = Instant::now();
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        loader.join().expect("a load thread failed");
    }

    // The first server is lost; step 10 restores into a new one.
    drop(first);
    let second = PgCluster::primary(PgOptions::throwaway(dir.join("pg-second"))).unwrap();
    guide.go(
        10,
        &[
            ("LASTHOP_ADMIN_URL", second.admin_url("postgres")),
            ("LASTHOP_DB_PORT", second.port().to_string()),
        ],
    );
    guide.reach(Some(11));

    // Everything acknowledged before the backup started is in the restored service.
    let acks = acks.lock().unwrap();
    let before: Vec<_> = acks
        .registrations
        .iter()
        .filter(|(at, _)| *at < backup_started)
        .collect();
    let releases: Vec<_> = acks
        .releases
        .iter()
        .filter(|(at, _, _)| *at < backup_started)
        .collect();
    assert!(
        before.len() >= 6 && releases.len() >= 6,
        "too little load before the backup"
    );
    let early = [
        (backup_started, first_buyer.clone()),
        (backup_started, outage_buyer.clone()),
    ];
    for (_, buyer) in before.iter().copied().chain(early.iter()) {
        let profile = edge
            .get("/v1/buyers/me")
            .bearer(&buyer.token)
            .send()
            .unwrap();
        assert_eq!(
            profile.status, 200,
            "a registration acknowledged before the backup is lost: {}",
            profile.body
        );
        assert_eq!(profile.json().unwrap()["name"], json!(buyer.person.name));
    }
    for (_, order, release) in releases
        .iter()
        .map(|(a, o, r)| (a, o.as_str(), r.as_str()))
        .chain([(
            &backup_started,
            first_order.as_str(),
            first_release.as_str(),
        )])
    {
        assert!(
            audit_release_ids(&origin, &ops_token, order)
                .iter()
                .any(|r| r == release),
            "a release acknowledged before the backup is missing from the restored audit"
        );
    }
    let during = acks
        .registrations
        .iter()
        .filter(|(at, _)| *at >= backup_started && *at < backup_done)
        .count();
    eprintln!(
        "operations guide: {} registrations and {} releases acknowledged before the backup, all restored; {during} more acknowledged while it ran",
        before.len(),
        releases.len()
    );

    guide.go(11, &[("ORDER_ID", first_order.clone())]);
    guide.finish();

    // Step 11's export holds every release acknowledged before the backup, as chain rows.
    let export: Value =
        serde_json::from_slice(&std::fs::read(dir.join("backups/audit-export.json")).unwrap())
            .unwrap();
    let exported = export["rows"].to_string();
    for (_, _, release) in &releases {
        assert!(
            exported.contains(release.as_str()),
            "a restored release is missing from the signed audit export"
        );
    }

    // The origin's log of all of it holds no buyer's personal data.
    let log = std::fs::read(dir.join("state/origin.log")).unwrap();
    assert!(log.len() > 1_000, "the origin log is nearly empty");
    let mut people: Vec<Person> = acks
        .registrations
        .iter()
        .map(|(_, b)| b.person.clone())
        .collect();
    people.push(first_buyer.person.clone());
    people.push(outage_buyer.person.clone());
    for secret in people.iter().flat_map(Person::secrets) {
        assert!(
            !contains_bytes(&log, secret.as_bytes()),
            "the origin log holds personal data"
        );
    }
    drop(second);
    drop(standby);
    // Kept when the test fails (the logs are there); removed when it passes.
    let _ = std::fs::remove_dir_all(&dir);
}
