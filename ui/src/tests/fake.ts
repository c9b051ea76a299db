// A fake backend for unit tests only: answers commands from a table of handlers
// and records every call.
import type { Commands, SyncWorker } from '../lib/bindings';
import { CommandError, type Transport } from '../lib/api';

export type Handlers = { [K in keyof Commands]?: (args: Commands[K]['args']) => Commands[K]['ret'] | Promise<Commands[K]['ret']> };

export interface FakeBackend extends Transport {
  calls: { name: string; args: unknown }[];
  emit?: (w: SyncWorker) => void;
}

export function fakeBackend(handlers: Handlers, withEvents = false): FakeBackend {
  const calls: { name: string; args: unknown }[] = [];
  let listener: ((p: unknown) => void) | null = null;
  const fake: FakeBackend = {
    calls,
    async invoke(name, args) {
      calls.push({ name, args });
      const h = (handlers as Record<string, ((a: unknown) => unknown) | undefined>)[name];
      if (!h) throw new CommandError('unknown_command', `no fake for ${name}`);
      return h(args);
    },
    listen: withEvents
      ? async (_event, cb) => {
          listener = cb;
          return () => {
            listener = null;
          };
        }
      : null,
  };
  if (withEvents) fake.emit = (w) => listener?.(w);
  return fake;
}

export function idleWorker(over: Partial<SyncWorker> = {}): SyncWorker {
  return {
    phase: 'idle',
    progress: null,
    server_reachable: true,
    last_checked_at: null,
    last_failure: null,
    last_summary: null,
    ...over,
  };
}
