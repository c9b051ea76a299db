//! The app's own state: settings, enrolment, practice mode, who is signed in.
//! Loaded once from `app_state`, replaced by every command that returns `AppState`.

import type { AppState, Settings, TextSize } from './bindings';
import { call } from './api';
import { setLanguage } from './i18n.svelte';

/** Root font size per text-size setting; every size in the CSS is in rem. */
export const ROOT_FONT_PX: Record<TextSize, number> = { normal: 18, large: 21, larger: 24 };

class AppStore {
  state = $state<AppState | null>(null);
  loading = $state(true);
  error = $state<unknown>(null);
  textSize = $derived<TextSize>(this.state?.settings.text_size ?? 'normal');
  rootPx = $derived(ROOT_FONT_PX[this.textSize]);
  practice = $derived(this.state?.practice ?? false);
  /** True once the tablet is set up: enrolled, or practising without enrolment. */
  ready = $derived(this.state !== null && this.state.settings.language !== null && (this.state.enrolled || this.state.practice));
}

export const app = new AppStore();

/** Applies settings to the document (language, direction, text size). */
export function applySettings(settings: Settings, doc: Document | null = globalThis.document ?? null): void {
  if (settings.language) setLanguage(settings.language, doc);
  if (doc) doc.documentElement.style.fontSize = `${ROOT_FONT_PX[settings.text_size] ?? 18}px`;
}

function accept(s: AppState): AppState {
  app.state = s;
  app.error = null;
  applySettings(s.settings);
  return s;
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

/** Saves a change to the settings; the answer is the new `AppState`. */
export async function saveSettings(patch: Partial<Settings>): Promise<AppState> {
  const base: Settings = app.state?.settings ?? { language: null, text_size: 'normal', server_url: null };
  return accept(await call('settings_save', { ...base, ...patch }));
}

export async function setPractice(on: boolean): Promise<AppState> {
  return accept(await call('practice_set', { on }));
}

export async function enrol(serverUrl: string, code: string): Promise<AppState> {
  return accept(await call('enrol', { server_url: serverUrl, code }));
}
