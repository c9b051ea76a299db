//! What the app knows about syncing: the last `sync_screen` answer and the live
//! worker state (Tauri events or browser polling, via `onSyncWorker`).

import type { SyncScreen, SyncWorker } from './bindings';
import { call, onSyncWorker } from './api';
import { refreshApp } from './app.svelte';

class SyncStore {
  screen = $state<SyncScreen | null>(null);
  worker = $state<SyncWorker | null>(null);
  error = $state<unknown>(null);
  loading = $state(false);
  /** The platform's own idea of connectivity (no network interface at all). */
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  pending = $derived(this.screen?.pending ?? 0);
  running = $derived(this.worker !== null && this.worker.phase !== 'idle');
  /** Offline: no network, or the last check could not reach the server. */
  offline = $derived(!this.online || this.worker?.server_reachable === false);
}

export const sync = new SyncStore();

export async function refreshSync(): Promise<void> {
  sync.loading = sync.screen === null;
  try {
    const s = await call('sync_screen', {});
    sync.screen = s;
    sync.worker = s.worker;
    sync.error = null;
  } catch (e) {
    sync.error = e;
  } finally {
    sync.loading = false;
  }
}

/** Starts a background sync; progress arrives through the subscription. */
export async function syncNow(): Promise<void> {
  sync.worker = await call('sync_now', {});
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;

/** Something was saved locally: refresh the pending count soon. */
export function noteLocalChange(): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void refreshSync();
  }, 300);
}

/** Subscribes to worker updates and connectivity events. Returns stop. */
export function startSyncTracking(): () => void {
  const off = onSyncWorker((worker, screen) => {
    const wasRunning = sync.worker !== null && sync.worker.phase !== 'idle';
    sync.worker = worker;
    if (screen) sync.screen = screen;
    else if (wasRunning && worker.phase === 'idle') void refreshSync();
    // A round ended: the lead may have withdrawn the tablet (and had it erased).
    if (wasRunning && worker.phase === 'idle') void refreshApp();
  });
  const up = () => (sync.online = true);
  const down = () => (sync.online = false);
  window.addEventListener('online', up);
  window.addEventListener('offline', down);
  void refreshSync();
  return () => {
    off();
    window.removeEventListener('online', up);
    window.removeEventListener('offline', down);
  };
}
