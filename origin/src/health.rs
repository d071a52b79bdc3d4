//! Readiness: whether this origin can serve, component by component.
//!
//! `GET /healthz` says the process is up and both stores answer (the contract's health
//! check). `GET /readyz` reports each component on its own, so a load balancer takes the
//! origin out of rotation and an operator sees *which* part is missing:
//! `{"status": "ready" | "not_ready", "checks": [{"name", "status", "required"}]}`.
//!
//! # Adding a component
//! Push a [`Check`] in [`readiness`]. A required component that is not `up` makes the origin
//! `not_ready` (503); an optional one only shows in the list.

use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::store::failover::{Role, ServerState};

/// The state of one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Answers.
    Up,
    /// Does not answer.
    Down,
    /// Not part of this deployment.
    NotConfigured,
}

/// One component's line in the readiness report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Check {
    /// `directory`, `vault`, `vault_standby`, `temporary_table`.
    pub name: &'static str,
    /// Its state.
    pub status: ComponentStatus,
    /// Whether the origin is not ready without it.
    pub required: bool,
}

impl Check {
    /// A required component, up or down.
    pub fn required(name: &'static str, up: bool) -> Self {
        Self {
            name,
            status: if up {
                ComponentStatus::Up
            } else {
                ComponentStatus::Down
            },
            required: true,
        }
    }

    /// A component the origin serves without, up or down.
    pub fn optional(name: &'static str, up: bool) -> Self {
        Self {
            required: false,
            ..Self::required(name, up)
        }
    }

    /// An optional component this deployment does not have.
    pub fn not_configured(name: &'static str) -> Self {
        Self {
            name,
            status: ComponentStatus::NotConfigured,
            required: false,
        }
    }
}

/// The readiness report, as `GET /readyz` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every required component is up, else `not_ready`.
    #[schema(examples("ready"))]
    pub status: &'static str,
    /// Every component, required or not.
    pub checks: Vec<Check>,
}

impl Readiness {
    /// Judges a list of checks.
    pub fn of(checks: Vec<Check>) -> Self {
        let ready = checks
            .iter()
            .all(|c| !c.required || c.status == ComponentStatus::Up);
        Self {
            status: if ready { "ready" } else { "not_ready" },
            checks,
        }
    }

    /// Whether every required component is up.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

/// Probes every component. The directory is required; the vault is not, because while no
/// vault server takes writes the origin still serves: registrations wait in the temporary
/// table (which lives in the directory) and reads come from the standby or that table.
pub async fn readiness(state: &AppState) -> Readiness {
    let probe = state.stores().probe().await;
    let standby = match probe.route.standby {
        None => Check::not_configured("vault_standby"),
        Some(server) => Check::optional("vault_standby", server != ServerState::Down),
    };
    Readiness::of(vec![
        Check::required("directory", probe.directory),
        Check::optional("vault", probe.vault),
        standby,
        Check::optional("temporary_table", probe.directory),
    ])
}

/// `/healthz`: serving or not, and the vault's state in some detail.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the directory answers (the origin serves, maybe from the standby and the
    /// temporary table); otherwise the answer is a 503 error.
    #[schema(examples("ok"))]
    pub status: &'static str,
    /// The vault's servers and where reads and writes go.
    pub vault: VaultHealth,
    /// Records waiting for the vault.
    pub temporary_table: TemporaryTableHealth,
}

/// The vault's servers as last probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VaultHealth {
    /// `writable`, `read_only` or `down`.
    #[schema(examples("writable"))]
    pub primary: &'static str,
    /// The standby's state, or `not_configured`.
    #[schema(examples("read_only"))]
    pub standby: &'static str,
    /// `primary`, `standby`, or `temporary_table` while no server takes writes.
    #[schema(examples("primary"))]
    pub writes_to: &'static str,
    /// `primary`, `standby`, or `temporary_table` while no server answers.
    #[schema(examples("primary"))]
    pub reads_from: &'static str,
}

/// The temporary table's depth and age.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemporaryTableHealth {
    /// Records waiting.
    pub depth: i64,
    /// Age of the oldest, in seconds (0 when none waits).
    pub oldest_age_seconds: f64,
}

/// The health report, or `None` when the directory does not answer.
pub async fn health(state: &AppState) -> Option<Health> {
    let stores = state.stores();
    let summary = stores.directory.pending_summary().await.ok()?;
    let route = stores.vault.switch().route();
    let age_ms = summary
        .oldest_queued_at
        .map_or(0, |at| (state.now().unix_millis() - at).max(0));
    #[allow(clippy::cast_precision_loss)] // milliseconds of an outage fit an f64 exactly
    let oldest_age_seconds = age_ms as f64 / 1000.0;
    Some(Health {
        status: "ok",
        vault: VaultHealth {
            primary: route.primary.as_str(),
            standby: route.standby.map_or("not_configured", ServerState::as_str),
            writes_to: route.writer.map_or("temporary_table", Role::as_str),
            reads_from: route.reader.map_or("temporary_table", Role::as_str),
        },
        temporary_table: TemporaryTableHealth {
            depth: summary.depth,
            oldest_age_seconds,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_component_down_makes_the_origin_not_ready_and_an_optional_one_does_not() {
        let all_up = Readiness::of(vec![
            Check::required("directory", true),
            Check::not_configured("vault_standby"),
        ]);
        assert!(all_up.is_ready());
        let vault_down = Readiness::of(vec![
            Check::required("directory", true),
            Check::required("vault", false),
        ]);
        assert!(!vault_down.is_ready());
        assert_eq!(
            serde_json::to_value(&vault_down).unwrap(),
            serde_json::json!({"status": "not_ready", "checks": [
                {"name": "directory", "status": "up", "required": true},
                {"name": "vault", "status": "down", "required": true},
            ]})
        );
    }
}
