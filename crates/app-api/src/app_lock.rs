//! The app lock's commands and the erase notice's: setting, checking and
//! resetting PINs, locking, and leaving an erased tablet's notice.
//!
//! The rules (argon2id hashes, five free tries, then 30 s doubling, both
//! roles sharing one count) live in `doorstep_device::lock`; here only the
//! screens' view: the lock flag, and the answers worded for them. A wrong
//! PIN is `wrong_pin`, a PIN tried during a wait `pin_wait`, a malformed
//! one `bad_pin`; the screens then read [`LockState`] for the counts.

use std::sync::atomic::Ordering;

use doorstep_device::lock::{Pin, PinCheck, PinRole};
use doorstep_device::sync;
use doorstep_device::{CreateOptions, Store};

use crate::app::{App, AppState, LockState, field_db};
use crate::args::{LeadPinArgs, LeadResetArgs, NoArgs, PinArgs, PinChangeArgs, PinSetupArgs, PinText};
use crate::error::ApiError;

fn pin(text: &PinText) -> Result<Pin, ApiError> {
    Ok(Pin::parse(&text.0)?)
}

/// The error for a PIN check that did not pass.
fn refused(check: PinCheck, whose: &str) -> ApiError {
    match check {
        PinCheck::Right => ApiError::new("store", "a right PIN reported as refused"),
        PinCheck::Wrong {
            tries_left,
            wait_seconds: 0,
        } => ApiError::new(
            "wrong_pin",
            format!("the {whose} PIN is wrong; {tries_left} tries left before a wait"),
        ),
        PinCheck::Wrong { wait_seconds, .. } | PinCheck::Wait { seconds: wait_seconds } => ApiError::new(
            "pin_wait",
            format!("too many wrong PINs: wait {wait_seconds} s before the next try"),
        ),
        PinCheck::NotSet => ApiError::new("no_lead_pin", format!("no {whose} PIN is set on this tablet")),
    }
}

fn check(store: &mut Store, role: PinRole, given: &Pin) -> Result<(), ApiError> {
    let whose = match role {
        PinRole::Volunteer => "volunteer's",
        PinRole::Lead => "team lead's",
    };
    match store.check_pin(role, given)? {
        PinCheck::Right => Ok(()),
        other => Err(refused(other, whose)),
    }
}

fn differs(store: &Store, role: PinRole, new: &Pin) -> Result<(), ApiError> {
    let other = match role {
        PinRole::Volunteer => PinRole::Lead,
        PinRole::Lead => PinRole::Volunteer,
    };
    if store.pin_is(other, new)? {
        return Err(ApiError::new(
            "bad_pin",
            "the team lead's PIN and the volunteer's must differ",
        ));
    }
    Ok(())
}

impl App {
    /// `lock_state`.
    pub fn lock_state(&self, _: NoArgs) -> Result<LockState, ApiError> {
        self.with_field(|field| self.lock_of(field))
    }

    /// `pin_setup`: the first PIN (and optionally the lead's), once.
    pub fn pin_setup(&self, args: PinSetupArgs) -> Result<AppState, ApiError> {
        let new = pin(&args.pin)?;
        let lead = args.lead_pin.as_ref().map(pin).transpose()?;
        if let (Some(_), Some(lead_text)) = (&lead, &args.lead_pin)
            && lead_text.0.trim() == args.pin.0.trim()
        {
            return Err(ApiError::new(
                "bad_pin",
                "the team lead's PIN and the volunteer's must differ",
            ));
        }
        self.with_field(|field| {
            if field.pin_status()?.pin_set {
                return Err(ApiError::new(
                    "rule",
                    "a PIN is already set: change it with the current one, or a team lead resets it",
                ));
            }
            field.set_pin(PinRole::Volunteer, &new)?;
            if let Some(lead) = &lead {
                field.set_pin(PinRole::Lead, lead)?;
            }
            Ok(())
        })?;
        self.locked.store(false, Ordering::SeqCst);
        self.app_state(NoArgs {})
    }

    /// `unlock`.
    pub fn unlock(&self, args: PinArgs) -> Result<LockState, ApiError> {
        let given = pin(&args.pin)?;
        self.with_field(|field| {
            check(field, PinRole::Volunteer, &given)?;
            self.locked.store(false, Ordering::SeqCst);
            self.lock_of(field)
        })
    }

    /// `lock_now`: the idle timer ran out, or the app went to the
    /// background. Locks the field data even in practice mode (the lock
    /// screen shows when practice ends); nothing without a PIN.
    pub fn lock_now(&self, _: NoArgs) -> Result<LockState, ApiError> {
        self.with_field(|field| {
            if field.pin_status()?.pin_set {
                self.locked.store(true, Ordering::SeqCst);
            }
            self.lock_of(field)
        })
    }

    /// `pin_change`: a new PIN, with the current one.
    pub fn pin_change(&self, args: PinChangeArgs) -> Result<LockState, ApiError> {
        let current = pin(&args.current)?;
        let new = pin(&args.new_pin)?;
        self.with_field(|field| {
            check(field, PinRole::Volunteer, &current)?;
            differs(field, PinRole::Volunteer, &new)?;
            field.set_pin(PinRole::Volunteer, &new)?;
            self.lock_of(field)
        })
    }

    /// `pin_reset_by_lead`: a team lead sets a new volunteer PIN with their
    /// own, and the app opens.
    pub fn pin_reset_by_lead(&self, args: LeadResetArgs) -> Result<LockState, ApiError> {
        let lead = pin(&args.lead_pin)?;
        let new = pin(&args.new_pin)?;
        self.with_field(|field| {
            check(field, PinRole::Lead, &lead)?;
            differs(field, PinRole::Volunteer, &new)?;
            field.set_pin(PinRole::Volunteer, &new)?;
            self.locked.store(false, Ordering::SeqCst);
            self.lock_of(field)
        })
    }

    /// `lead_pin_save`: sets the team lead's PIN (with the app open), or
    /// changes it with the current one.
    pub fn lead_pin_save(&self, args: LeadPinArgs) -> Result<LockState, ApiError> {
        let new = pin(&args.new_lead_pin)?;
        let current = args.current_lead_pin.as_ref().map(pin).transpose()?;
        self.with_field(|field| {
            let lock = self.lock_of(field)?;
            if lock.locked {
                return Err(ApiError::new("locked", "the app is locked: enter the PIN"));
            }
            if lock.lead_pin_set {
                let Some(current) = &current else {
                    return Err(ApiError::new(
                        "wrong_pin",
                        "a team lead PIN is set: give it to change it",
                    ));
                };
                check(field, PinRole::Lead, current)?;
            }
            differs(field, PinRole::Lead, &new)?;
            field.set_pin(PinRole::Lead, &new)?;
            self.lock_of(field)
        })
    }

    /// `erased_dismiss`: the volunteer read the erase notice. The server is
    /// told once more if it has not heard yet (a failure is let go: the
    /// tablet must be usable again), the notice goes, and a new empty field
    /// database waits for a new enrolment.
    pub fn erased_dismiss(&self, _: NoArgs) -> Result<AppState, ApiError> {
        let db = field_db(&self.data_dir);
        let Some(notice) = sync::read_notice(&db)? else {
            return self.app_state(NoArgs {});
        };
        if !notice.reported {
            let options = self.sync_options.clone();
            let told = std::thread::scope(|scope| {
                scope
                    .spawn(|| sync::report_erase(&db, &options))
                    .join()
                    .map_err(|_| ApiError::new("store", "reporting the erase stopped unexpectedly"))
            })?;
            if let Err(e) = told {
                tracing::warn!(error = %e, "the server was not told of the erase");
            }
        }
        {
            let mut field = self
                .dbs
                .field
                .lock()
                .map_err(|_| ApiError::new("store", "the field database was left unusable: restart the app"))?;
            sync::finish_interrupted_erase(&db, &self.dbs.field_keys())?;
            sync::dismiss_notice(&db)?;
            *field = Some(Store::create_keyed(
                &db,
                CreateOptions::default(),
                &self.dbs.field_keys(),
            )?);
        }
        self.locked.store(false, Ordering::SeqCst);
        self.practice_on.store(false, Ordering::SeqCst);
        self.app_state(NoArgs {})
    }
}
