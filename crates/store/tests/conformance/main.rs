//! The store conformance suite: every `Store` (and `Accounts`) must pass
//! it. Each story is one behaviour told against the traits alone, as a
//! generic `async fn story<S: Store + Accounts>(store: &S)`; the runner
//! below gives each its own fresh store. New store behaviour is added here
//! first, then to every store until they all pass; a story one store fails
//! is a bug in that store, not a reason to soften the story.
//!
//! On SQLite (a new file in a temporary directory per story):
//!
//! ```text
//! cargo test -p doorstep-store --test conformance
//! ```
//!
//! On PostgreSQL (a new database per story, in a throwaway cluster that
//! `.ci/postgres` starts; `DOORSTEP_TEST_POSTGRES` selects it, see
//! `tests/support/pg.rs`):
//!
//! ```text
//! bash -c 'source .ci/setup >/dev/null 2>&1; source .ci/postgres; pg_start >/dev/null; trap pg_stop EXIT; cargo test -p doorstep-store --test conformance'
//! ```
//!
//! In `.ci/test`, `cargo test --workspace` runs it on SQLite. Its
//! PostgreSQL step names test targets from the files
//! `crates/store/tests/*.rs`, which a directory target like this one is
//! not: that list must name `--test conformance` for the suite to run on
//! PostgreSQL there.

mod accounts;
mod conflicts;
mod devices;
mod epochs;
mod field_day;
mod office;
mod packs;
mod pull;
mod push;
mod relay;
mod reports;
mod world;

#[path = "../../../../tests/support/pg.rs"]
mod pg;

use doorstep_store::any::AnyStore;

/// A fresh store of the kind under test, and the directory that holds it
/// (a SQLite file, or only the name of a PostgreSQL database).
pub(crate) struct Fresh {
    _dir: tempfile::TempDir,
    pub(crate) store: AnyStore,
}

impl Fresh {
    pub(crate) async fn open() -> Fresh {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = AnyStore::open(&pg::db_arg(&dir.path().join("server.db")))
            .await
            .expect("a fresh store opens");
        let wanted = if pg::on_postgres() { "postgres" } else { "sqlite" };
        assert_eq!(
            store.kind(),
            wanted,
            "the store under test is the one {} asks for",
            pg::ENV
        );
        Fresh { _dir: dir, store }
    }
}

/// One `#[tokio::test]` per story, each on a fresh store, named
/// `story::AREA::STORY`. Attributes before a story (`#[ignore = "why"]`)
/// go on its test.
macro_rules! stories {
    ($($area:ident { $($(#[$attr:meta])* $story:ident),* $(,)? })*) => {
        mod story {
            $(mod $area {
                $(
                    $(#[$attr])*
                    #[tokio::test]
                    async fn $story() {
                        let fresh = crate::Fresh::open().await;
                        crate::$area::$story(&fresh.store).await;
                    }
                )*
            })*
        }
    };
}

stories! {
    push {
        a_batch_is_applied_once_and_sent_again_skips_everything,
        a_batch_sent_from_the_middle_applies_only_the_new_seqs,
        a_gap_is_refused_and_changes_nothing,
        a_change_that_can_never_apply_is_rejected_and_the_queue_moves_on,
        a_copy_s_other_change_at_a_logged_seq_is_refused_and_kept_aside,
        a_stamp_far_ahead_is_replaced_and_its_resend_is_no_copy,
        a_tablet_cannot_write_another_commune_or_the_office_s_records,
        an_unknown_device_is_refused,
        a_push_of_nothing_records_the_contact,
        two_pushes_of_one_batch_at_once_apply_it_once,
    }
    pull {
        pages_follow_on_without_skip_or_repeat,
        a_byte_limit_cuts_pages_but_never_to_nothing,
        a_device_does_not_pull_its_own_changes,
        campaign_wide_changes_reach_every_commune_and_communes_stay_apart,
        a_cursor_past_the_log_s_end_starts_again,
    }
    office {
        an_office_write_takes_the_office_device_s_next_seqs,
        an_invalid_office_write_names_the_problem_and_changes_nothing,
        an_office_update_of_an_unknown_record_is_refused,
        entities_lists_every_record_of_a_kind_with_its_scope,
        office_writes_at_once_take_distinct_seqs,
    }
    conflicts {
        two_tablets_writing_one_field_from_one_base_make_a_conflict,
        a_lead_s_pick_closes_the_conflict,
        writes_one_after_the_other_make_no_conflict,
        conflicts_are_listed_newest_record_first,
    }
    packs {
        the_first_start_records_every_bundled_pack_in_order,
        a_new_version_is_kept_beside_the_old,
        new_wording_outside_the_steps_is_accepted,
        changed_steps_are_refused_with_nothing_recorded,
    }
    reports {
        the_overview_counts_what_tablets_pushed,
        visit_rows_and_run_rows_list_what_tablets_pushed,
        the_walking_list_names_follow_ups_and_households_never_visited,
        peer_spread_follows_who_taught_whom,
        a_lead_s_filter_keeps_to_their_communes,
        a_deleted_household_leaves_the_reports,
    }
    epochs {
        a_fresh_store_has_one_epoch_and_no_backup,
        a_tablet_confirmed_beyond_the_log_starts_a_new_epoch,
    }
    accounts {
        accounts_list_members_with_their_communes,
        a_password_set_replaces_the_old_and_ends_sessions,
        sessions_expire_and_end,
    }
    devices {
        a_code_enrols_one_device_once,
        an_expired_or_cancelled_code_does_not_enrol,
        pending_codes_are_listed_oldest_first,
        revoking_keeps_the_first_time_and_may_add_an_erase,
        an_erase_report_is_recorded_once,
        devices_are_listed_in_the_order_they_enrolled,
    }
    relay {
        a_key_registers_once,
        device_finds_a_revoked_tablet_but_not_the_office,
        a_carried_batch_applies_once_under_its_origin,
        a_carried_batch_with_a_gap_is_refused_and_counts_nothing,
        relays_count_up_and_are_listed_by_origin_carrier_and_outcome,
    }
}
