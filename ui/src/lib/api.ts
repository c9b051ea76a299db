//! The one door to the backend.
//!
//! Every screen talks to Rust through `call(name, args)`, typed by the generated
//! `Commands` interface in `bindings.ts`. Where the call goes is a `Transport`:
//! inside Tauri it is `invoke`, in a browser (the `doorstep-ui-host` dev/test host)
//! it is `POST ./invoke/<name>` on the same origin. Unit tests install a fake
//! transport with `setTransport`; nothing else in the app knows which one is live.
//!
//! Sync progress arrives as `sync-progress` events in Tauri and by polling
//! `sync_screen` in a browser (every second while a sync runs or the sync
//! screen is open, every five seconds otherwise while the page is visible);
//! `onSyncWorker` hides that difference.

import type { ApiError, Commands, SyncScreen, SyncWorker } from './bindings';


/** How commands reach the backend. */
export interface Transport {
  invoke(name: string, args: unknown): Promise<unknown>;
  /** Push events, when the platform has them (Tauri). `null` means: poll. */
  listen: ((event: string, cb: (payload: unknown) => void) => Promise<() => void>) | null;
}

/** A failed command: the backend's `ApiError`, thrown as a real `Error`. */
export class CommandError extends Error implements ApiError {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'CommandError';
    this.kind = kind;
  }
}

/** Turns anything thrown by a transport into a `CommandError`. */
export function toCommandError(e: unknown): CommandError {
  if (e instanceof CommandError) return e;
  if (e && typeof e === 'object' && 'kind' in e && typeof (e as ApiError).kind === 'string') {
    const err = e as ApiError;
    return new CommandError(err.kind, typeof err.message === 'string' ? err.message : '');
  }
  if (typeof e === 'string') return new CommandError('unknown', e);
  if (e instanceof Error) return new CommandError('unknown', e.message);
  return new CommandError('unknown', String(e));
}

/** Tauri: `invoke(name, { args })`; errors are already `ApiError` objects. */
export function tauriTransport(): Transport {
  return {
    async invoke(name, args) {
      const { invoke } = await import('@tauri-apps/api/core');
      return invoke(name, { args });
    },
    async listen(event, cb) {
      const { listen } = await import('@tauri-apps/api/event');
      return listen(event, (e) => cb(e.payload));
    },
  };
}

/** Browser against `doorstep-ui-host`: one POST per command, same origin. */
export function fetchTransport(base = './invoke/', fetchImpl: typeof fetch = (...a) => fetch(...a)): Transport {
  return {
    async invoke(name, args) {
      let res: Response;
      try {
        res = await fetchImpl(base + name, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? {}),
        });
      } catch (e) {
        // The host itself is gone (the page outlived it): not the sync server.
        throw new CommandError('host_unreachable', e instanceof Error ? e.message : String(e));
      }
      let body: unknown = null;
      const text = await res.text();
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new CommandError('bad_answer', `HTTP ${res.status}: ${text.slice(0, 200)}`);
        }
      }
      if (res.ok) return body;
      if (body && typeof body === 'object' && 'kind' in body) throw toCommandError(body);
      throw new CommandError('bad_answer', `HTTP ${res.status}`);
    },
    listen: null,
  };
}

function detectTransport(): Transport {
  if (typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window) return tauriTransport();
  return fetchTransport();
}

let transport: Transport | null = null;

function current(): Transport {
  if (!transport) transport = detectTransport();
  return transport;
}

/** Installs a transport (unit tests use a fake one). Resets sync subscriptions. */
export function setTransport(t: Transport | null): void {
  stopSyncSource();
  transport = t;
  lastPhase = 'idle';
  polling = false;
  if (subscribers.size > 0) startSyncSource();
}

/** True inside the Tauri shell (the real app), false in a browser. */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export type CommandErrorListener = (error: CommandError, command: string) => void;

const errorListeners = new Set<CommandErrorListener>();

/**
 * Calls `cb` with every failed command (the app lock watches for `locked`:
 * a data command refused because the app locked meanwhile). Returns stop.
 */
export function onCommandError(cb: CommandErrorListener): () => void {
  errorListeners.add(cb);
  return () => {
    errorListeners.delete(cb);
  };
}

/** Runs one backend command. Throws `CommandError` on failure. */
export async function call<K extends keyof Commands>(
  name: K,
  args: Commands[K]['args'],
): Promise<Commands[K]['ret']> {
  let ret: Commands[K]['ret'];
  try {
    ret = (await current().invoke(name, args)) as Commands[K]['ret'];
  } catch (e) {
    const err = toCommandError(e);
    for (const cb of [...errorListeners]) cb(err, name);
    throw err;
  }
  if (name === 'sync_now') publishSyncWorker(ret as SyncWorker);
  return ret;
}

// ---- sync worker subscription -------------------------------------------------

export type SyncWorkerListener = (worker: SyncWorker, screen?: SyncScreen) => void;

/** Poll period in a browser while a sync runs or the sync screen is open. */
export const SYNC_POLL_MS = 1000;
/**
 * Poll period in a browser otherwise (while the page is visible), so a sync
 * started elsewhere (in the background, by another tab) still reaches the
 * open screen when it finishes.
 */
export const SYNC_IDLE_POLL_MS = 5000;

const subscribers = new Set<SyncWorkerListener>();
let lastPhase: SyncWorker['phase'] = 'idle';
let screenHolds = 0;
let pollTimer: ReturnType<typeof setTimeout> | null = null;
/** When the pending poll fires (`Date.now()` time), to bring it forward. */
let pollDue = 0;
/** A `sync_screen` poll is on its way: no second one meanwhile. */
let polling = false;
let unlisten: (() => void) | null = null;
let listening = false;
let watchingVisibility = false;

/**
 * Calls `cb` with every new sync worker state (Tauri events, or polling
 * `sync_screen` in a browser; then `screen` is passed too). Returns unsubscribe.
 */
export function onSyncWorker(cb: SyncWorkerListener): () => void {
  subscribers.add(cb);
  if (subscribers.size === 1) startSyncSource();
  else schedulePoll();
  return () => {
    subscribers.delete(cb);
    if (subscribers.size === 0) stopSyncSource();
  };
}

/** Polls fast (every second) while the sync screen is open. Returns release. */
export function holdSyncPolling(): () => void {
  screenHolds += 1;
  schedulePoll();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    screenHolds -= 1;
  };
}

/** Hands a worker state to subscribers (also used for `sync_now`'s answer). */
export function publishSyncWorker(worker: SyncWorker, screen?: SyncScreen): void {
  if (!worker) return;
  lastPhase = worker.phase;
  for (const cb of [...subscribers]) cb(worker, screen);
  schedulePoll();
}

function startSyncSource(): void {
  const t = current();
  if (t.listen) {
    if (listening) return;
    listening = true;
    t.listen('sync-progress', (p) => publishSyncWorker(p as SyncWorker))
      .then((off) => {
        if (listening) unlisten = off;
        else off();
      })
      .catch(() => {
        listening = false;
      });
  } else {
    if (!watchingVisibility && typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', onVisibility);
      watchingVisibility = true;
    }
    schedulePoll();
  }
}

function stopSyncSource(): void {
  clearPollTimer();
  listening = false;
  if (unlisten) unlisten();
  unlisten = null;
  if (watchingVisibility) {
    document.removeEventListener('visibilitychange', onVisibility);
    watchingVisibility = false;
  }
}

function clearPollTimer(): void {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

function pageHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden';
}

/** Back on screen: look at once (a sync may have ended meanwhile), then poll on. */
function onVisibility(): void {
  if (pageHidden()) {
    clearPollTimer();
    return;
  }
  if (subscribers.size === 0 || polling) return;
  clearPollTimer();
  void pollOnce();
}

/**
 * Browser only: the next `sync_screen` poll, every second while a sync runs or
 * the sync screen is open, every five seconds otherwise; none while the page
 * is hidden. A pending slow poll is brought forward when a sync starts.
 */
function schedulePoll(): void {
  if (subscribers.size === 0 || polling) return;
  if (current().listen) return;
  if (pageHidden()) {
    clearPollTimer();
    return;
  }
  const fast = screenHolds > 0 || lastPhase !== 'idle';
  const delay = fast ? SYNC_POLL_MS : SYNC_IDLE_POLL_MS;
  const due = Date.now() + delay;
  if (pollTimer) {
    if (pollDue <= due) return;
    clearPollTimer();
  }
  pollDue = due;
  pollTimer = setTimeout(() => {
    pollTimer = null;
    void pollOnce();
  }, delay);
}

async function pollOnce(): Promise<void> {
  polling = true;
  let screen: SyncScreen | null = null;
  try {
    screen = await call('sync_screen', {});
  } catch {
    screen = null;
  }
  polling = false;
  if (screen) publishSyncWorker(screen.worker, screen);
  else schedulePoll();
}
