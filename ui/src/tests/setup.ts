// Every test starts in Vietnamese (the app's default) with no transport installed.
import { afterEach } from 'vitest';
import { setLanguage } from '../lib/i18n.svelte';
import { setTransport } from '../lib/api';

afterEach(() => {
  setLanguage('vi');
  setTransport(null);
});

// jsdom has no layout: `bind:clientHeight` needs a ResizeObserver that never fires.
if (!('ResizeObserver' in globalThis)) {
  class NoLayoutResizeObserver {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  }
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = NoLayoutResizeObserver;
}
