//! The app lock, UI side: PIN commands, the idle timer, locking on going to the
//! background, and routing to the lock screen when a command is refused as
//! `locked`. The backend decides and counts (wrong PINs, waits); the UI only
//! asks it and shows its answers.

import type { LockState } from './bindings';
import type { MessageKey } from './i18n.svelte';
import { call, onCommandError } from './api';
import { accept, acceptLock, app, DEFAULT_LOCK_AFTER_MINUTES } from './app.svelte';

/** Wrong PINs allowed before the first wait (the backend's rule, shown as "tries left"). */
export const FREE_TRIES = 5;

/** The choices of "Lock after" in Settings, in minutes. */
export const LOCK_AFTER_CHOICES = [1, 2, 5, 10, 15, 30] as const;

/** A PIN is 4 to 6 ASCII digits. */
export function isPin(pin: string): boolean {
  return /^[0-9]{4,6}$/.test(pin);
}

/** Keeps digits only, at most six (what a PIN field accepts). */
export function pinDigits(raw: string): string {
  return raw.replace(/[^0-9]/g, '').slice(0, 6);
}

/** What is wrong with a new PIN typed twice, or null when it is good. */
export function newPinProblem(pin: string, again: string): MessageKey | null {
  if (!isPin(pin)) return 'pin.needDigits';
  if (pin !== again) return 'pin.mismatch';
  return null;
}

/** Tries left before a wait, from the backend's count of wrong PINs. */
export function triesLeft(lock: LockState): number {
  return Math.max(0, FREE_TRIES - lock.failures);
}

/** Asks the backend for the lock's state (also after any failed PIN). */
export async function refreshLock(): Promise<LockState> {
  return acceptLock(await call('lock_state', {}));
}

/** After a refused PIN: the counts and the wait come from `lock_state`. */
async function withRefresh<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    await refreshLock().catch(() => {});
    throw e;
  }
}

export function unlock(pin: string): Promise<LockState> {
  return withRefresh(async () => acceptLock(await call('unlock', { pin })));
}

export function resetPinByLead(leadPin: string, newPin: string): Promise<LockState> {
  return withRefresh(async () => acceptLock(await call('pin_reset_by_lead', { lead_pin: leadPin, new_pin: newPin })));
}

export function changePin(current: string, newPin: string): Promise<LockState> {
  return withRefresh(async () => acceptLock(await call('pin_change', { current, new_pin: newPin })));
}

export function saveLeadPin(current: string | null, newLeadPin: string): Promise<LockState> {
  return withRefresh(async () => acceptLock(await call('lead_pin_save', { current_lead_pin: current, new_lead_pin: newLeadPin })));
}

/** The first PIN, after enrolment (and the lead's, optionally). */
export async function setUpPin(pin: string, leadPin: string | null) {
  return accept(await call('pin_setup', { pin, lead_pin: leadPin }));
}

/** True when idling or going to the background should lock the app now. */
export function lockApplies(): boolean {
  const s = app.state;
  return (
    s !== null &&
    s.enrolled &&
    s.erased === null &&
    s.lock.pin_set &&
    !s.lock.pin_required &&
    !s.lock.locked
  );
}

/**
 * Locks now (idle timer, background); nothing without a PIN. In practice mode
 * the backend locks the field data and the lock screen shows when practice ends.
 */
export async function lockNow(): Promise<void> {
  if (!lockApplies()) return;
  try {
    acceptLock(await call('lock_now', {}));
  } catch {
    // A locked backend says so with the next command.
  }
}

/** The idle time before locking, from the settings (1 to 60 minutes). */
export function lockAfterMs(): number {
  const m = app.state?.settings.lock_after_minutes ?? DEFAULT_LOCK_AFTER_MINUTES;
  const minutes = Number.isFinite(m) ? Math.min(60, Math.max(1, m)) : DEFAULT_LOCK_AFTER_MINUTES;
  return minutes * 60_000;
}

/** What counts as someone using the tablet. */
const ACTIVITY = ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart', 'scroll'] as const;

/**
 * Watches for idling and going to the background, and for commands refused as
 * `locked`. Every input restarts the idle timer; when it runs out the app asks
 * the backend to lock (`lock_now`) if a lock applies then. Returns stop.
 */
export function startLockWatch(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void lockNow();
    }, lockAfterMs());
  };
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') void lockNow();
    else arm();
  };
  const offErrors = onCommandError((e, command) => {
    if (e.kind !== 'locked' || command === 'lock_state') return;
    const s = app.state;
    if (s && !s.lock.locked) acceptLock({ ...s.lock, locked: true });
    void refreshLock().catch(() => {});
  });
  const opts = { capture: true, passive: true } as const;
  for (const ev of ACTIVITY) window.addEventListener(ev, arm, opts);
  document.addEventListener('visibilitychange', onVisibility);
  arm();
  return () => {
    if (timer) clearTimeout(timer);
    for (const ev of ACTIVITY) window.removeEventListener(ev, arm, opts);
    document.removeEventListener('visibilitychange', onVisibility);
    offErrors();
  };
}
