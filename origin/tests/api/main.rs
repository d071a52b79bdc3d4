//! Integration tests of the origin: one binary, every behaviour scenario run against real
//! SQLite files and against a throwaway PostgreSQL cluster with two roles (started here;
//! missing Postgres binaries fail the run unless `LASTHOP_SKIP_POSTGRES=1`), plus tests
//! specific to one backend (fault injection, role separation), the OpenAPI drift check and
//! the revocation push.

#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

mod audit;
mod carriers;
mod contention;
mod entries;
mod fees;
mod helpers;
mod keys;
mod numbers;
mod outage;
mod pg;
mod provision;
mod scenarios;
mod sealed_intake;
mod service;
mod single;

/// Runs each named scenario once per backend, as `sqlite::<name>` and `postgres::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = crate::helpers::TestApp::sqlite().await;
                    crate::scenarios::$name(&app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = crate::helpers::TestApp::postgres().await else { return };
                    crate::scenarios::$name(&app).await;
                }
            )*
        }
    };
}

on_both_backends!(
    registering_a_buyer_returns_ids_and_a_token_and_the_owner_sees_the_plaintext,
    an_identical_address_shares_one_vault_number_but_each_buyer_has_their_own_id,
    creating_an_order_returns_a_tokenised_record_without_region_codes,
    a_release_to_the_final_hub_returns_the_recipient_and_writes_an_audit_row,
    a_repeated_release_returns_the_same_release,
    releases_with_forged_expired_or_revoked_credentials_are_refused,
    a_release_for_a_hub_outside_the_buyers_region_is_off_route,
    a_release_after_delivery_is_refused,
    a_release_is_refused_after_its_erase_after,
    a_replayed_or_foreign_chain_gets_no_recipient,
    store_dumps_hold_no_personal_data,
    bad_input_never_causes_a_server_error,
    rotating_an_address_number_moves_entries_and_open_orders,
    internal_calls_need_a_fresh_edge_signature,
    ops_calls_need_the_ops_token,
    sellers_see_their_orders_without_buyer_details,
    a_scanner_enrolled_with_a_device_gets_a_device_bound_credential,
    concurrent_releases_all_succeed_each_with_exactly_its_audit_rows,
    one_address_registered_by_many_buyers_at_once_gets_one_number,
    a_buyer_registered_sealed_gets_the_profile_only_sealed_to_their_pages_key,
    a_buyer_registered_in_plaintext_has_no_sealed_profile,
    sealed_data_moved_to_another_buyer_platform_or_key_is_refused_by_name,
    audit_verify_names_a_release_row_edited_in_the_database,
    audit_verify_names_the_gap_a_deleted_audit_row_leaves,
    an_audit_export_checks_and_a_tampered_export_does_not,
    two_buyers_at_one_address_each_see_only_their_own_record_and_nothing_of_the_other,
    guessing_addresses_learns_nothing_about_other_buyers,
    the_owner_sees_the_full_record_and_the_final_hub_gets_the_entrys_recipient,
    modifying_an_address_writes_a_new_version_with_its_provenance_and_the_release_follows_it,
    a_sealed_modification_is_bound_to_its_buyer_and_address,
    carriers_are_created_by_ops_and_sellers_and_orders_name_them,
    a_chain_with_another_carriers_scanner_or_a_far_pickup_gets_no_recipient,
    fee_tables_are_imported_once_per_version_as_json_or_csv_and_the_highest_is_current,
    a_quote_prices_each_of_the_sellers_carriers_and_an_order_keeps_its_fee_after_an_update,
);

/// Key rotation restarts the app, so it owns it: run here once per backend.
mod key_rotation {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_rotation_rewrap_and_retire_leave_nothing_under_the_old_version() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::keys::rotation_rewrap_and_retire_leave_nothing_under_the_old_version(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_rotation_rewrap_and_retire_leave_nothing_under_the_old_version() {
        let Some(app) = crate::helpers::TestApp::postgres().await else {
            return;
        };
        crate::keys::rotation_rewrap_and_retire_leave_nothing_under_the_old_version(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_rewrap_killed_midway_leaves_every_record_open_and_a_rerun_finishes_it() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::keys::a_rewrap_killed_midway_leaves_every_record_open_and_a_rerun_finishes_it(app)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_rewrap_killed_midway_leaves_every_record_open_and_a_rerun_finishes_it() {
        let Some(app) = crate::helpers::TestApp::postgres().await else {
            return;
        };
        crate::keys::a_rewrap_killed_midway_leaves_every_record_open_and_a_rerun_finishes_it(app)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_rewrap_names_an_address_stored_twice_under_two_versions() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::keys::a_rewrap_names_an_address_stored_twice_under_two_versions(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_rewrap_names_an_address_stored_twice_under_two_versions() {
        let Some(app) = crate::helpers::TestApp::postgres().await else {
            return;
        };
        crate::keys::a_rewrap_names_an_address_stored_twice_under_two_versions(app).await;
    }

    /// The rewrap throughput figure on both backends (see `keys::rewrap_throughput`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement, run by hand: see keys::rewrap_throughput"]
    async fn rewrap_throughput() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::keys::rewrap_throughput(app, "SQLite").await;
        if let Some(app) = crate::helpers::TestApp::postgres().await {
            crate::keys::rewrap_throughput(app, "PostgreSQL").await;
        }
    }
}

/// Number rotation drives the job by hand: run here once per backend.
mod number_rotation {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_a_rotation_stopped_after_any_step_is_finished_by_the_resume() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::numbers::a_rotation_stopped_after_any_step_is_finished_by_the_resume(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_rotation_stopped_after_any_step_is_finished_by_the_resume() {
        let Some(app) = crate::helpers::TestApp::postgres().await else {
            return;
        };
        crate::numbers::a_rotation_stopped_after_any_step_is_finished_by_the_resume(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_the_periodic_job_renumbers_aged_records_and_orders_go_on() {
        let app = crate::helpers::TestApp::sqlite().await;
        crate::numbers::the_periodic_job_renumbers_aged_records_and_orders_go_on(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_the_periodic_job_renumbers_aged_records_and_orders_go_on() {
        let Some(app) = crate::helpers::TestApp::postgres().await else {
            return;
        };
        crate::numbers::the_periodic_job_renumbers_aged_records_and_orders_go_on(app).await;
    }
}
