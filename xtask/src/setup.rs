//! `cargo xtask setup`: install what is missing, at pinned versions, and skip what is right.
//!
//! Every step first asks the installed tool for its version and only installs on a mismatch,
//! so running it again is quick and changes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::cmd;

/// The wasm target the Worker and the core are built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The `worker-build` matching the `worker` 0.8.7 crate the edge uses.
const WORKER_BUILD_VERSION: &str = "0.8.7";
/// Opt-out for machines where PostgreSQL cannot be installed.
pub const SKIP_POSTGRES_ENV: &str = "LASTHOP_SKIP_POSTGRES";
/// The PostgreSQL major version the origin's tests run against.
const POSTGRES_PACKAGE: &str = "postgresql-15";
/// Debian's browser and its WebDriver, which the page tests drive (never a downloaded build),
/// and a small CJK font so the Chinese pages render (and screenshot) as text, not boxes.
const CHROMIUM_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "fonts-wqy-microhei"];
/// A file of the CJK font package: present once it is installed.
const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
/// Where Debian installs the browser; `LASTHOP_CHROMIUM` names another binary.
const CHROMIUM_DEFAULT: &str = lasthop_e2e::browser::CHROMIUM_DEFAULT;
/// Names the Chromium binary the page tests launch, where it is not Debian's.
pub const CHROMIUM_ENV: &str = lasthop_e2e::browser::CHROMIUM_ENV;
/// Names the schemathesis CLI (`st`) the API fuzz test runs.
pub const SCHEMATHESIS_ENV: &str = lasthop_e2e::SCHEMATHESIS_ENV;
/// The schemathesis the API fuzz test (`tests/tests/api_fuzz.rs`) runs, and the `cryptography`
/// its signing hook (`tests/fuzz/lasthop_hooks.py`) uses for the device's Ed25519 signatures.
const PYTHON_PACKAGES: [(&str, &str); 2] = [("schemathesis", "4.32.5"), ("cryptography", "48.0.0")];

/// What the caller is about to do, hence what must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Build and run the Worker: wasm target, worker-build, wasm-bindgen, npm tools.
    WorkerBuild,
    /// Also the Chromium the pages are driven in (screenshots).
    Browser,
    /// Also the PostgreSQL server binaries the origin's tests start and the Chromium the page
    /// tests drive.
    Everything,
}

/// Where the tools are, once set up.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `worker-build`.
    pub worker_build: PathBuf,
    /// `wasm-bindgen` (the CLI), handed to worker-build as `WASM_BINDGEN_BIN`.
    pub wasm_bindgen: PathBuf,
    /// `wasm-opt` from npm `binaryen`, handed to worker-build as `WASM_OPT_BIN`.
    pub wasm_opt: PathBuf,
    /// The directory holding `pg_ctl` and `initdb`, when PostgreSQL is set up.
    pub postgres_bin: Option<PathBuf>,
    /// The Chromium binary the page tests drive, when set up.
    pub chromium: Option<PathBuf>,
    /// The schemathesis CLI (`st`) the API fuzz test runs, when set up.
    pub schemathesis: Option<PathBuf>,
}

/// Install what is missing.
pub fn run(root: &Path, needs: Needs) -> anyhow::Result<Tools> {
    println!("setup: checking tools");
    wasm_target(root)?;
    let cargo_bin = cargo_home()?.join("bin");
    let worker_build = cargo_tool(
        root,
        &cargo_bin,
        "worker-build",
        "worker-build",
        WORKER_BUILD_VERSION,
        true,
    )?;
    let bindgen_version = wasm_bindgen_version(root)?;
    // Without --locked: one of wasm-bindgen-cli's locked dependencies is yanked.
    let wasm_bindgen = cargo_tool(
        root,
        &cargo_bin,
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &bindgen_version,
        false,
    )?;
    npm_tools(root)?;
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    if !wasm_opt.is_file() {
        bail!(
            "{} is missing after npm ci; is `binaryen` in package.json?",
            wasm_opt.display()
        );
    }
    let (postgres_bin, chromium) = match needs {
        Needs::Everything => (postgres()?, Some(chromium()?)),
        Needs::Browser => (None, Some(chromium()?)),
        Needs::WorkerBuild => (None, None),
    };
    let mut schemathesis = None;
    if needs == Needs::Everything {
        schemathesis = Some(python_tools()?);
    }
    if postgres_bin.is_some() {
        // The operator's guide test (on PostgreSQL) runs the guide's commands, which use these.
        guide_tools()?;
    }
    Ok(Tools {
        worker_build,
        wasm_bindgen,
        wasm_opt,
        postgres_bin,
        chromium,
        schemathesis,
    })
}

fn wasm_target(root: &Path) -> anyhow::Result<()> {
    let installed = cmd::probe(Command::new("rustup").current_dir(root).args([
        "target",
        "list",
        "--installed",
    ]))
    .context("`rustup target list --installed` failed; is rustup installed?")?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("setup: {WASM_TARGET} target: installed");
        return Ok(());
    }
    println!("setup: {WASM_TARGET} target: installing");
    cmd::run(
        Command::new("rustup")
            .current_dir(root)
            .args(["target", "add", WASM_TARGET]),
    )
}

/// `$CARGO_HOME`, else `~/.cargo`: where `cargo install` puts binaries.
fn cargo_home() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// A cargo-installed tool at exactly `version`: found in cargo's bin dir or on PATH, else
/// installed into cargo's bin dir.
fn cargo_tool(
    root: &Path,
    cargo_bin: &Path,
    bin: &str,
    krate: &str,
    version: &str,
    locked: bool,
) -> anyhow::Result<PathBuf> {
    let candidates = [cargo_bin.join(bin), PathBuf::from(bin)];
    let mut found = None;
    for candidate in &candidates {
        if let Some(out) = cmd::probe(Command::new(candidate).arg("--version")) {
            found = Some((candidate.clone(), version_of(&out)));
            break;
        }
    }
    match found {
        Some((path, Some(have))) if have == version => {
            println!("setup: {bin} {version}: installed");
            return Ok(path);
        }
        Some((path, have)) => println!(
            "setup: {bin}: {} has {}, need {version}: installing {krate} {version}",
            path.display(),
            have.as_deref().unwrap_or("an unknown version")
        ),
        None => println!("setup: {bin}: missing: installing {krate} {version}"),
    }
    let mut install = Command::new("cargo");
    install
        .current_dir(root)
        // The tool must not land in the project's target dir override.
        .env_remove("CARGO_TARGET_DIR")
        .args(["install", krate, "--version", version]);
    if locked {
        install.arg("--locked");
    }
    cmd::run(&mut install)?;
    let path = cargo_bin.join(bin);
    let have = cmd::probe(Command::new(&path).arg("--version")).and_then(|o| version_of(&o));
    if have.as_deref() != Some(version) {
        bail!(
            "after installing, {} reports {:?}, not {version}",
            path.display(),
            have
        );
    }
    Ok(path)
}

/// The version in `tool --version` output: the last word of the first line
/// (`wasm-bindgen 0.2.129`, or worker-build's bare `0.8.7`).
fn version_of(output: &str) -> Option<String> {
    output
        .lines()
        .next()?
        .split_whitespace()
        .last()
        .map(str::to_string)
}

/// The `wasm-bindgen` version Cargo.lock resolves to: the CLI must match it exactly.
fn wasm_bindgen_version(root: &Path) -> anyhow::Result<String> {
    let lock_path = root.join("Cargo.lock");
    if !lock_path.is_file() {
        println!("setup: Cargo.lock: missing: resolving it");
        cmd::run(
            Command::new("cargo")
                .current_dir(root)
                .args(["metadata", "--format-version", "1", "--quiet"])
                .stdout(std::process::Stdio::null()),
        )?;
    }
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let versions = locked_versions(&lock, "wasm-bindgen");
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("Cargo.lock has no wasm-bindgen package; does the edge depend on `worker`?"),
        many => bail!(
            "Cargo.lock has several wasm-bindgen versions ({many:?}); the CLI can match only one"
        ),
    }
}

/// The versions of package `name` in a Cargo.lock.
pub fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    let mut in_wanted = false;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            in_wanted = false;
        } else if line.starts_with("name = ") {
            in_wanted = line == wanted;
        } else if in_wanted {
            if let Some(v) = line.strip_prefix("version = ") {
                versions.push(v.trim_matches('"').to_string());
                in_wanted = false;
            }
        }
    }
    versions
}

/// `npm ci` when `node_modules` is missing or older than `package-lock.json`.
fn npm_tools(root: &Path) -> anyhow::Result<()> {
    let lock = root.join("package-lock.json");
    // npm writes this file at the end of every install: its age is the install's age.
    let installed = root.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let lock_time = modified(&lock).with_context(|| format!("{} is missing", lock.display()))?;
    match modified(&installed) {
        Some(t) if t >= lock_time => {
            println!("setup: node_modules: up to date with package-lock.json");
            return Ok(());
        }
        Some(_) => println!("setup: node_modules: older than package-lock.json: npm ci"),
        None => println!("setup: node_modules: missing: npm ci"),
    }
    cmd::run(
        Command::new("npm")
            .current_dir(root)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
}

/// The directory with `pg_ctl` and `initdb`, installing PostgreSQL with apt when we are root.
fn postgres() -> anyhow::Result<Option<PathBuf>> {
    if std::env::var(SKIP_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        println!("setup: PostgreSQL: skipped ({SKIP_POSTGRES_ENV}=1); the origin's PostgreSQL tests will skip");
        return Ok(None);
    }
    if let Some(dir) = postgres_bin_dir() {
        println!("setup: PostgreSQL server binaries: {}", dir.display());
        return Ok(Some(dir));
    }
    println!("setup: PostgreSQL server binaries: missing");
    if apt_install(&[POSTGRES_PACKAGE])? {
        if let Some(dir) = postgres_bin_dir() {
            return Ok(Some(dir));
        }
        bail!("{POSTGRES_PACKAGE} was installed but pg_ctl/initdb are still not found");
    }
    bail!(
        "PostgreSQL server binaries (pg_ctl, initdb) are missing. Install PostgreSQL 15 \
         (Debian/Ubuntu: `sudo apt-get install postgresql-15`; macOS: `brew install postgresql@15`) \
         or set {SKIP_POSTGRES_ENV}=1 to skip the origin's PostgreSQL tests"
    )
}

/// Chromium for the page tests: `LASTHOP_CHROMIUM`, else Debian's, installed with apt when we
/// are root. `playwright-core` (which drives it) comes with `npm ci`; it never downloads a
/// browser of its own.
fn chromium() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(CHROMIUM_ENV).map(PathBuf::from) {
        if !path.is_file() {
            bail!("{CHROMIUM_ENV}={} is not a file", path.display());
        }
        println!("setup: Chromium: {} ({CHROMIUM_ENV})", path.display());
        return Ok(path);
    }
    let debian = PathBuf::from(CHROMIUM_DEFAULT);
    let driver = which("chromedriver");
    if debian.is_file() && driver.is_some() && Path::new(CJK_FONT).is_file() {
        println!("setup: Chromium, chromedriver and a CJK font: installed");
        return Ok(debian);
    }
    println!("setup: Chromium: missing");
    if apt_install(&CHROMIUM_PACKAGES)? {
        if debian.is_file() {
            return Ok(debian);
        }
        bail!(
            "{} was installed but {CHROMIUM_DEFAULT} is still missing",
            CHROMIUM_PACKAGES.join(" ")
        );
    }
    bail!(
        "Chromium is missing; the page tests drive a real browser. Install Debian's packages \
         (`sudo apt-get install chromium chromium-driver fonts-wqy-microhei`) or set \
         {CHROMIUM_ENV} to a Chromium binary"
    )
}

/// Schemathesis and `cryptography` at their pinned versions for `python3`, installed with pip
/// when either differs; the path of its `st`.
fn python_tools() -> anyhow::Result<PathBuf> {
    let wanted: Vec<String> = PYTHON_PACKAGES
        .iter()
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    if let Some(st) = installed_python_tools()? {
        println!("setup: {}: installed ({})", wanted.join(" "), st.display());
        return Ok(st);
    }
    println!("setup: {}: installing with pip", wanted.join(" "));
    let installed = cmd::run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .args(&wanted),
    );
    if let Err(error) = installed {
        bail!(
            "pip could not install {} for python3 ({error:#}). The API fuzz test needs them: \
             install them into a virtual environment whose `python3` and `st` come first on PATH \
             (`python3 -m venv ~/.venvs/lasthop && . ~/.venvs/lasthop/bin/activate`), then run \
             setup again",
            wanted.join(" ")
        );
    }
    installed_python_tools()?.with_context(|| {
        format!(
            "after pip install, python3 still lacks {}, or its `st` is missing",
            wanted.join(" ")
        )
    })
}

/// Prints `<package> <version or ->` for each pinned package, then `scripts <dir>` (where pip
/// puts `st`).
const PYTHON_PROBE: &str = r"
import importlib.metadata as m, sysconfig
for name in ('schemathesis', 'cryptography'):
    try:
        print(name, m.version(name))
    except m.PackageNotFoundError:
        print(name, '-')
print('scripts', sysconfig.get_path('scripts'))
";

/// The `st` next to `python3` when python3 has exactly the pinned packages; `None` otherwise.
fn installed_python_tools() -> anyhow::Result<Option<PathBuf>> {
    let out = cmd::probe(Command::new("python3").args(["-c", PYTHON_PROBE]))
        .context("python3 is missing; the API fuzz test runs schemathesis with it (install Python 3.9 or newer)")?;
    let mut scripts = None;
    let mut versions = Vec::new();
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("scripts", dir)) => scripts = Some(PathBuf::from(dir)),
            Some((name, version)) => versions.push((name.to_owned(), version.to_owned())),
            None => {}
        }
    }
    let pinned = PYTHON_PACKAGES
        .iter()
        .all(|(name, version)| versions.iter().any(|(n, v)| n == name && v == version));
    let st = scripts.map(|dir| dir.join("st")).filter(|st| st.is_file());
    Ok(st.filter(|_| pinned))
}

/// `jq` and `curl`, which `docs/operations.md` uses (its test runs the guide's commands).
fn guide_tools() -> anyhow::Result<()> {
    for tool in ["jq", "curl"] {
        if let Some(path) = which(tool) {
            println!("setup: {tool}: {}", path.display());
        } else {
            println!("setup: {tool}: missing");
            if !apt_install(&[tool])? {
                bail!(
                    "{tool} is missing; the operator's guide (docs/operations.md) and its test use \
                     it: install it (Debian/Ubuntu: `sudo apt-get install {tool}`)"
                );
            }
        }
    }
    Ok(())
}

/// Installs Debian packages with apt-get when running as root; false when that is not
/// possible here (not root, or no apt-get).
fn apt_install(packages: &[&str]) -> anyhow::Result<bool> {
    if !nix::unistd::geteuid().is_root() || which("apt-get").is_none() {
        return Ok(false);
    }
    println!("setup: installing {} with apt-get", packages.join(" "));
    let install = || {
        cmd::run(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "--no-install-recommends"])
                .args(packages),
        )
    };
    if install().is_err() {
        // A fresh image often has no package lists yet.
        cmd::run(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(true)
}

/// `pg_ctl` and `initdb` on PATH, else the newest `/usr/lib/postgresql/<major>/bin`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    if let (Some(pg_ctl), Some(_)) = (which("pg_ctl"), which("initdb")) {
        return pg_ctl.parent().map(Path::to_path_buf);
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_ctl").is_file() && bin.join("initdb").is_file())
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// The first `name` on PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.129"
source = "registry+https://example.invalid"
dependencies = [
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.130"
"#;

    #[test]
    fn locked_versions_reads_only_the_named_package() {
        assert_eq!(locked_versions(LOCK, "wasm-bindgen"), vec!["0.2.129"]);
        assert_eq!(locked_versions(LOCK, "wasm-bindgen-macro"), vec!["0.2.130"]);
        assert!(locked_versions(LOCK, "worker").is_empty());
    }

    #[test]
    fn the_real_lockfile_pins_one_wasm_bindgen_matching_the_edge_manifest() {
        let root = crate::repo_root().unwrap();
        let version = wasm_bindgen_version(&root).unwrap();
        let edge = std::fs::read_to_string(root.join("edge/Cargo.toml")).unwrap();
        assert!(
            edge.contains(&format!("\"={version}\"")),
            "edge/Cargo.toml does not pin wasm-bindgen ={version}"
        );
    }

    #[test]
    fn version_of_reads_both_tool_output_styles() {
        assert_eq!(
            version_of("wasm-bindgen 0.2.129\n").as_deref(),
            Some("0.2.129")
        );
        assert_eq!(version_of("0.8.7\n").as_deref(), Some("0.8.7"));
        assert_eq!(version_of(""), None);
    }
}
