//! The app's own state: settings, enrolment, practice mode, who is signed in,
//! the app lock and the erase notice.
//! Loaded once from `app_state`, replaced by every command that returns `AppState`.

import type { AppState, LockState, Settings, TextSize } from './bindings';
import { call } from './api';
import { setLanguage } from './i18n.svelte';

/** Root font size per text-size setting; every size in the CSS is in rem. */
export const ROOT_FONT_PX: Record<TextSize, number> = { normal: 18, large: 21, larger: 24 };

/** Minutes without input before the app locks, unless the settings say otherwise. */
export const DEFAULT_LOCK_AFTER_MINUTES = 5;

class AppStore {
  state = $state<AppState | null>(null);
  loading = $state(true);
  error = $state<unknown>(null);
  textSize = $derived<TextSize>(this.state?.settings.text_size ?? 'normal');
  rootPx = $derived(ROOT_FONT_PX[this.textSize]);
  practice = $derived(this.state?.practice ?? false);
  /** True once the tablet is set up: enrolled, or practising without enrolment. */
  ready = $derived(this.state !== null && this.state.settings.language !== null && (this.state.enrolled || this.state.practice));
  /** The app lock as the backend last reported it. */
  lock = $derived<LockState | null>(this.state?.lock ?? null);
  /** The lock screen is up: nothing else may be shown. */
  locked = $derived(this.state?.lock.locked ?? false);
  /** Enrolled without a PIN: the PIN must be set before anything else. */
  pinRequired = $derived(this.state?.lock.pin_required ?? false);
  /** The lead withdrew the tablet and its data was erased: only that notice is shown. */
  erased = $derived(this.state?.erased ?? null);
}

export const app = new AppStore();

/** Applies settings to the document (language, direction, text size). */
export function applySettings(settings: Settings, doc: Document | null = globalThis.document ?? null): void {
  if (settings.language) setLanguage(settings.language, doc);
  if (doc) doc.documentElement.style.fontSize = `${ROOT_FONT_PX[settings.text_size] ?? 18}px`;
}

export function accept(s: AppState): AppState {
  app.state = s;
  app.error = null;
  applySettings(s.settings);
  return s;
}

/** Replaces the lock part of the state (the lock commands answer `LockState`). */
export function acceptLock(lock: LockState): LockState {
  if (app.state) app.state = { ...app.state, lock };
  return lock;
}

export async function loadApp(): Promise<void> {
  app.loading = true;
  try {
    accept(await call('app_state', {}));
  } catch (e) {
    app.error = e;
  } finally {
    app.loading = false;
  }
}

/**
 * Reads `app_state` again without the loading screen (after a sync round: the
 * lead may have withdrawn the tablet and had it erased). Failures are ignored.
 */
export async function refreshApp(): Promise<void> {
  try {
    accept(await call('app_state', {}));
  } catch {
    // The next refresh or command tells.
  }
}

/** Saves a change to the settings; the answer is the new `AppState`. */
export async function saveSettings(patch: Partial<Settings>): Promise<AppState> {
  const base: Settings = app.state?.settings ?? {
    language: null,
    text_size: 'normal',
    server_url: null,
    lock_after_minutes: DEFAULT_LOCK_AFTER_MINUTES,
  };
  return accept(await call('settings_save', { ...base, ...patch }));
}

export async function setPractice(on: boolean): Promise<AppState> {
  return accept(await call('practice_set', { on }));
}

export async function enrol(serverUrl: string, code: string): Promise<AppState> {
  return accept(await call('enrol', { server_url: serverUrl, code }));
}

/** Leaves the erase notice: the tablet is back at its first run. */
export async function dismissErased(): Promise<AppState> {
  return accept(await call('erased_dismiss', {}));
}
