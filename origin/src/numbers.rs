//! Number rotation: a shared vault record gets a new number, crash-safe across the two stores.
//!
//! The intent is recorded in the directory before the first step, and every step can be run
//! again, so a rotation interrupted anywhere (a kill -9 included) is finished by running its
//! remaining steps, which the job does on start and on every tick:
//!
//! 1. directory: intent row `old → new`, state `started`;
//! 2. vault: the record re-sealed under `new`, beside `old` (a placeholder blind index);
//! 3. directory: every buyer entry of `old` points at `new`, state `switched` (one transaction);
//! 4. vault: `old` deleted and its blind index given to `new` (one transaction);
//! 5. directory: entries linked to `old` meanwhile follow, state `done`.
//!
//! Between any two steps every entry names a number the vault holds (before 3 the old, after
//! it the new; both exist until 4), and duplicate detection finds exactly one of them. Orders,
//! the owner's access log and the audit name entries, whose ids never move.

use std::time::Duration;

use lasthop_core::ids::AddressId;
use rand::rngs::OsRng;
use tokio_util::sync::CancellationToken;

use crate::records::{self, AddressPlain, Provenance};
use crate::state::AppState;
use crate::store::{RotationRow, StoreError};

/// Numbers rotated per round; the next round follows at once while more are due.
const BATCH: i64 = 100;

/// How long a finished rotation is remembered, so that a link to its old number made by a
/// registration that read it just before it went still lands on the new one.
const REMEMBER_DONE: Duration = Duration::from_secs(3600);

/// How often unfinished rotations are looked for when no periodic rotation is set.
const RESUME_ONLY_TICK: Duration = Duration::from_secs(60);

/// Why a rotation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The vault holds no record under that number.
    #[error("no such address number")]
    NoSuchNumber,
    /// The record could not be opened with the keys held.
    #[error("the record cannot be opened")]
    Unreadable,
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives `old` a new number now and returns it (or the one an unfinished rotation of `old`
/// had chosen). `modified` is written into the record's provenance when given.
///
/// # Errors
/// [`RotationError::NoSuchNumber`] when the vault does not hold `old`; otherwise a store
/// failure (the rotation is then resumed by the job).
pub async fn rotate(
    state: &AppState,
    old: &str,
    modified: Option<Provenance>,
) -> Result<AddressId, RotationError> {
    if state.stores().vault.address(old).await?.is_none() {
        return Err(RotationError::NoSuchNumber);
    }
    let chosen = AddressId::generate(&mut OsRng);
    let rotation = state
        .stores()
        .directory
        .begin_rotation(old, chosen.as_str(), state.now().unix_millis())
        .await?;
    let new = AddressId::parse(&rotation.new_id).map_err(|_| StoreError::Corrupt)?;
    carry_out(state, &rotation, modified).await?;
    state.metrics().numbers.rotated.inc();
    Ok(new)
}

/// Runs the remaining steps of a rotation.
async fn carry_out(
    state: &AppState,
    rotation: &RotationRow,
    modified: Option<Provenance>,
) -> Result<(), RotationError> {
    let stores = state.stores();
    let (old, new) = (rotation.old_id.as_str(), rotation.new_id.as_str());
    if rotation.state == "started" {
        let Some(sealed) = stores.vault.address(old).await? else {
            // Gone before the switch (nothing points at `new` yet): forget the attempt.
            stores.vault.drop_rotated(new).await?;
            stores.directory.abandon_rotation(old).await?;
            return Err(RotationError::NoSuchNumber);
        };
        let mut plain: AddressPlain = records::open(&state.keys().vault, old, &sealed)
            .map_err(|_| RotationError::Unreadable)?;
        if let Some(modified) = modified {
            plain.modified = modified;
        }
        let resealed = records::seal(&state.keys().vault, new, &plain);
        stores.vault.insert_rotated(new, &resealed).await?;
        stores.directory.switch_rotation(old, new).await?;
    }
    if rotation.state != "done" {
        stores.vault.retire_rotated(old, new).await?;
        stores
            .directory
            .finish_rotation(old, new, state.now().unix_millis())
            .await?;
    }
    Ok(())
}

/// Finishes every unfinished rotation; returns how many were finished.
///
/// # Errors
/// A store failure (the rest wait for the next round).
pub async fn resume(state: &AppState) -> Result<usize, StoreError> {
    let unfinished = state.stores().directory.unfinished_rotations().await?;
    let mut finished = 0;
    for rotation in &unfinished {
        match carry_out(state, rotation, None).await {
            Ok(()) => {
                finished += 1;
                state.metrics().numbers.resumed.inc();
            }
            Err(RotationError::NoSuchNumber) => {}
            Err(RotationError::Unreadable) => {
                tracing::error!(
                    old = %rotation.old_id,
                    "a record being renumbered cannot be opened; its rotation waits"
                );
            }
            Err(RotationError::Store(err)) => return Err(err),
        }
    }
    let since = state.now().unix_millis() - i64::try_from(REMEMBER_DONE.as_millis()).unwrap_or(0);
    state.stores().directory.sweep_rotations(since).await?;
    Ok(finished)
}

/// One round of the periodic job: resume what was interrupted, then renumber up to a batch of
/// records numbered more than `every` ago. Returns true when a full batch was renumbered.
async fn round(state: &AppState, every: Option<Duration>) -> Result<bool, StoreError> {
    let resumed = resume(state).await?;
    if resumed > 0 {
        tracing::info!(resumed, "unfinished number rotations finished");
    }
    let Some(every) = every else {
        return Ok(false);
    };
    if !state.stores().vault.writable() {
        return Ok(false);
    }
    let cutoff = state.now().unix_millis() - i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    let due = state
        .stores()
        .vault
        .numbers_older_than(cutoff, BATCH)
        .await?;
    let mut rotated = 0;
    for old in &due {
        match rotate(state, old, None).await {
            Ok(_) => rotated += 1,
            // Renumbered or removed meanwhile.
            Err(RotationError::NoSuchNumber) => {}
            Err(RotationError::Unreadable) => {
                tracing::error!(old = %old, "a shared record cannot be opened; not renumbered");
            }
            Err(RotationError::Store(err)) => return Err(err),
        }
    }
    if rotated > 0 {
        tracing::info!(rotated, "address numbers rotated");
    }
    Ok(due.len() >= usize::try_from(BATCH).unwrap_or(usize::MAX))
}

/// How long the job waits between rounds: a quarter of the period, within [250 ms, 60 s].
fn tick(every: Option<Duration>) -> Duration {
    every.map_or(RESUME_ONLY_TICK, |every| {
        (every / 4).clamp(Duration::from_millis(250), Duration::from_secs(60))
    })
}

/// Resumes interrupted rotations at once and then every tick; with `every`, also renumbers
/// each shared record whose number is older than that. Runs until shutdown.
pub async fn run(state: AppState, every: Option<Duration>, shutdown: CancellationToken) {
    let pause = tick(every);
    loop {
        let again = match round(&state, every).await {
            Ok(again) => again,
            Err(err) => {
                tracing::warn!(error = %err, "number rotation round failed; retrying later");
                false
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        if !again {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_ticks_four_times_a_period_within_bounds() {
        assert_eq!(tick(Some(Duration::from_secs(8))), Duration::from_secs(2));
        assert_eq!(
            tick(Some(Duration::from_millis(100))),
            Duration::from_millis(250)
        );
        assert_eq!(
            tick(Some(Duration::from_secs(86_400))),
            Duration::from_secs(60)
        );
        assert_eq!(tick(None), RESUME_ONLY_TICK);
    }
}
