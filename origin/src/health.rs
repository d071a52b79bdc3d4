//! Readiness: whether this origin can serve, component by component.
//!
//! `GET /healthz` says the process is up and both stores answer (the contract's health
//! check). `GET /readyz` reports each component on its own, so a load balancer takes the
//! origin out of rotation and an operator sees *which* part is missing:
//! `{"status": "ready" | "not_ready", "checks": [{"name", "status", "required"}]}`.
//!
//! # Adding a component
//! Push a [`Check`] in [`readiness`]. A required component that is not `up` makes the origin
//! `not_ready` (503); an optional one only shows in the list. The backup vault (standby) and
//! the temporary table are listed as `not_configured` until the store work reports them
//! (issue 9): replace their placeholders below.

use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

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
    #[schema(example = "ready")]
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

/// Probes every component.
pub async fn readiness(state: &AppState) -> Readiness {
    let probe = state.stores().probe().await;
    Readiness::of(vec![
        Check::required("directory", probe.directory),
        Check::required("vault", probe.vault),
        // Placeholders until issue 9 gives the origin a standby and a temporary table.
        Check::not_configured("vault_standby"),
        Check::not_configured("temporary_table"),
    ])
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
