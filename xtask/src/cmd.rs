//! Running child commands visibly, and timing phases.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The command line as a reader would type it.
pub fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Run with inherited stdio, printing the command line first; an error on a non-zero exit.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let line = describe(command);
    println!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("starting `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Run like [`run`], printing the child's stdout as it comes, and return that stdout too (the
/// benchmarks print their figures as JSON lines for the report).
pub fn run_capture(command: &mut Command) -> anyhow::Result<String> {
    use std::io::{BufRead as _, BufReader};
    let line = describe(command);
    println!("$ {line}");
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{line}`"))?;
    let mut captured = String::new();
    if let Some(stdout) = child.stdout.take() {
        for text in BufReader::new(stdout).lines() {
            let text = text.with_context(|| format!("reading the output of `{line}`"))?;
            println!("{text}");
            captured.push_str(&text);
            captured.push('\n');
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(captured)
}

/// Run quietly and return stdout; `None` when the program is missing or fails (used to probe
/// installed tools).
pub fn probe(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Named steps, each timed, with a summary at the end.
#[derive(Debug, Default)]
pub struct Phases {
    done: Vec<(String, Duration, bool)>,
}

impl Phases {
    /// Run one phase, print its duration, and remember the outcome.
    pub fn run(
        &mut self,
        name: &str,
        step: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        let ok = result.is_ok();
        println!(
            "<== {name}: {} in {}",
            if ok { "ok" } else { "FAILED" },
            seconds(took)
        );
        self.done.push((name.to_string(), took, ok));
        result.with_context(|| format!("phase `{name}` failed"))
    }

    /// One line per phase and the total.
    pub fn summary(&self) -> String {
        let width = self.done.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
        let mut out = String::from("phase timings:\n");
        for (name, took, ok) in &self.done {
            let mark = if *ok { "ok" } else { "FAILED" };
            out.push_str(&format!(
                "  {name:<width$}  {:>8}  {mark}\n",
                seconds(*took)
            ));
        }
        let total: Duration = self.done.iter().map(|(_, t, _)| *t).sum();
        out.push_str(&format!("  {:<width$}  {:>8}\n", "total", seconds(total)));
        out
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_joins_program_and_arguments() {
        let mut c = Command::new("cargo");
        c.args(["clippy", "--all-targets"]);
        assert_eq!(describe(&c), "cargo clippy --all-targets");
    }

    #[test]
    fn a_failing_phase_is_reported_and_marked_in_the_summary() {
        let mut phases = Phases::default();
        assert!(phases.run("fine", || Ok(())).is_ok());
        let err = phases.run("broken", || bail!("boom")).unwrap_err();
        assert!(format!("{err:#}").contains("phase `broken` failed: boom"));
        let summary = phases.summary();
        assert!(summary.contains("fine") && summary.contains("ok"));
        assert!(summary
            .lines()
            .any(|l| l.contains("broken") && l.ends_with("FAILED")));
        assert!(summary.contains("total"));
    }

    #[test]
    fn run_capture_returns_stdout_and_fails_on_a_failing_command() {
        let out = run_capture(Command::new("printf").arg("a\\nb\\n")).unwrap();
        assert_eq!(out, "a\nb\n");
        assert!(run_capture(&mut Command::new("false")).is_err());
    }

    #[test]
    fn probe_returns_stdout_of_a_successful_command_and_none_otherwise() {
        assert_eq!(
            probe(Command::new("echo").arg("hi")).as_deref(),
            Some("hi\n")
        );
        assert_eq!(probe(&mut Command::new("false")), None);
        assert_eq!(probe(&mut Command::new("/nonexistent/tool")), None);
    }
}
