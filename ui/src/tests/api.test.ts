import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  call,
  CommandError,
  fetchTransport,
  holdSyncPolling,
  onSyncWorker,
  setTransport,
  SYNC_IDLE_POLL_MS,
  SYNC_POLL_MS,
  toCommandError,
} from '../lib/api';
import type { SyncScreen, SyncWorker } from '../lib/bindings';
import { fakeBackend, idleWorker } from './fake';

function response(status: number, body: unknown): Response {
  return new Response(body === undefined ? '' : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

describe('fetch transport (browser against doorstep-ui-host)', () => {
  it('POSTs the arguments as JSON to ./invoke/<name> and returns the JSON answer', async () => {
    const fetchMock = vi.fn(async () => response(200, [{ id: 'v1', name: 'Bun' }]));
    setTransport(fetchTransport('./invoke/', fetchMock as unknown as typeof fetch));
    const rows = await call('households', { village_id: 'v1', status: null, search: 'lo' });
    expect(rows).toEqual([{ id: 'v1', name: 'Bun' }]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('./invoke/households');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ village_id: 'v1', status: null, search: 'lo' });
  });

  it('throws the ApiError of a non-2xx answer as a CommandError', async () => {
    const fetchMock = vi.fn(async () => response(422, { kind: 'bad_code', message: 'code K7M2Q was refused' }));
    setTransport(fetchTransport('./invoke/', fetchMock as unknown as typeof fetch));
    const err = await call('enrol', { server_url: 'http://x', code: 'K7M2Q-9XDRT' }).catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: 'bad_code', message: 'code K7M2Q was refused' });
  });

  it('names a non-JSON error page bad_answer and a dead host host_unreachable', async () => {
    setTransport(fetchTransport('./invoke/', (async () => new Response('<html>502</html>', { status: 502 })) as typeof fetch));
    await expect(call('villages', {})).rejects.toMatchObject({ kind: 'bad_answer' });
    setTransport(
      fetchTransport('./invoke/', (async () => {
        throw new TypeError('Failed to fetch');
      }) as typeof fetch),
    );
    await expect(call('villages', {})).rejects.toMatchObject({ kind: 'host_unreachable' });
  });
});

describe('call with an injected transport', () => {
  it('passes name and args through and wraps plain ApiError objects (as Tauri rejects)', async () => {
    const fake = fakeBackend({
      household: () => {
        throw { kind: 'not_found', message: 'household h9' };
      },
    });
    setTransport(fake);
    const err = await call('household', { id: 'h9' }).catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.kind).toBe('not_found');
    expect(fake.calls).toEqual([{ name: 'household', args: { id: 'h9' } }]);
  });

  it('toCommandError handles strings and Errors', () => {
    expect(toCommandError('boom')).toMatchObject({ kind: 'unknown', message: 'boom' });
    expect(toCommandError(new Error('bang'))).toMatchObject({ kind: 'unknown', message: 'bang' });
  });
});

describe('onSyncWorker', () => {
  afterEach(() => {
    vi.useRealTimers();
    setVisibility('visible');
  });

  function setVisibility(state: 'visible' | 'hidden') {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    document.dispatchEvent(new Event('visibilitychange'));
  }

  function screenWith(worker: SyncWorker): SyncScreen {
    return {
      enrolled: true,
      practice: false,
      server_url: 'http://x',
      commune_name: 'Mường Lạn',
      pending: 2,
      last_sync_at: null,
      last_error: null,
      conflicts: 0,
      rejected: [],
      office_backup: false,
      awaiting_backup: 0,
      worker,
    };
  }

  it('in a browser, polls sync_screen every second while a sync runs, then slowly again', async () => {
    vi.useFakeTimers();
    const phases: SyncWorker['phase'][] = ['syncing', 'syncing', 'idle'];
    const fake = fakeBackend({
      sync_now: () => idleWorker({ phase: 'checking' }),
      sync_screen: () => screenWith(idleWorker({ phase: phases.shift() ?? 'idle' })),
    });
    setTransport(fake);
    const seen: string[] = [];
    const off = onSyncWorker((w) => seen.push(w.phase));
    await call('sync_now', {});
    expect(seen).toEqual(['checking']);
    for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(SYNC_POLL_MS);
    expect(seen).toEqual(['checking', 'syncing', 'syncing', 'idle']);
    expect(fake.calls.filter((c) => c.name === 'sync_screen')).toHaveLength(3);
    // Idle again: back to the slow pace, not every second.
    await vi.advanceTimersByTimeAsync(SYNC_IDLE_POLL_MS - 2 * SYNC_POLL_MS - 1);
    expect(fake.calls.filter((c) => c.name === 'sync_screen')).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls.filter((c) => c.name === 'sync_screen')).toHaveLength(4);
    off();
  });

  it('in a browser, polls slowly when idle, so a background sync reaches the open screen', async () => {
    vi.useFakeTimers();
    let finished: string | null = null;
    let phase: SyncWorker['phase'] = 'idle';
    const fake = fakeBackend({
      sync_screen: () =>
        screenWith(
          idleWorker({
            phase,
            last_summary: finished ? { pushed: 1, pulled: 3, rejected: 0, conflicts: 0, packs_installed: 0, finished_at: finished } : null,
          }),
        ),
    });
    setTransport(fake);
    const seen: (string | null)[] = [];
    const off = onSyncWorker((w) => seen.push(w.last_summary?.finished_at ?? null));
    const polls = () => fake.calls.filter((c) => c.name === 'sync_screen').length;
    await vi.advanceTimersByTimeAsync(SYNC_IDLE_POLL_MS - 1);
    expect(polls()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(polls()).toBe(1);
    // A sync nobody on this page started: seen at the next slow poll, then followed every second.
    phase = 'syncing';
    await vi.advanceTimersByTimeAsync(SYNC_IDLE_POLL_MS);
    expect(polls()).toBe(2);
    phase = 'idle';
    finished = '2025-10-10T09:00:00Z';
    await vi.advanceTimersByTimeAsync(SYNC_POLL_MS);
    expect(polls()).toBe(3);
    expect(seen).toEqual([null, null, '2025-10-10T09:00:00Z']);
    await vi.advanceTimersByTimeAsync(2 * SYNC_IDLE_POLL_MS);
    expect(polls()).toBe(5);
    off();
    await vi.advanceTimersByTimeAsync(2 * SYNC_IDLE_POLL_MS);
    expect(polls()).toBe(5);
  });

  it('does not poll while the page is hidden, and looks at once when it is shown again', async () => {
    vi.useFakeTimers();
    const fake = fakeBackend({ sync_screen: () => screenWith(idleWorker()) });
    setTransport(fake);
    const polls = () => fake.calls.filter((c) => c.name === 'sync_screen').length;
    const off = onSyncWorker(() => {});
    setVisibility('hidden');
    await vi.advanceTimersByTimeAsync(3 * SYNC_IDLE_POLL_MS);
    expect(polls()).toBe(0);
    setVisibility('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(SYNC_IDLE_POLL_MS);
    expect(polls()).toBe(2);
    off();
  });

  it('keeps polling while the sync screen holds it open', async () => {
    vi.useFakeTimers();
    const fake = fakeBackend({ sync_screen: () => screenWith(idleWorker()) });
    setTransport(fake);
    const screens: (SyncScreen | undefined)[] = [];
    const off = onSyncWorker((_w, s) => screens.push(s));
    await vi.advanceTimersByTimeAsync(3 * SYNC_POLL_MS);
    expect(screens).toHaveLength(0);
    const release = holdSyncPolling();
    await vi.advanceTimersByTimeAsync(3 * SYNC_POLL_MS);
    expect(screens.length).toBeGreaterThanOrEqual(3);
    expect(screens[0]?.pending).toBe(2);
    release();
    const n = screens.length;
    await vi.advanceTimersByTimeAsync(3 * SYNC_POLL_MS);
    expect(screens.length).toBeLessThanOrEqual(n + 1);
    off();
  });

  it('with push events (Tauri), listens instead of polling', async () => {
    vi.useFakeTimers();
    const fake = fakeBackend({ sync_screen: () => screenWith(idleWorker()) }, true);
    setTransport(fake);
    const seen: string[] = [];
    const off = onSyncWorker((w) => seen.push(w.phase));
    const release = holdSyncPolling();
    await vi.advanceTimersByTimeAsync(0);
    fake.emit?.(idleWorker({ phase: 'syncing' }));
    fake.emit?.(idleWorker({ phase: 'idle' }));
    await vi.advanceTimersByTimeAsync(3 * SYNC_POLL_MS);
    expect(seen).toEqual(['syncing', 'idle']);
    expect(fake.calls).toHaveLength(0);
    release();
    off();
  });
});
