import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, relativeTime } from '../lib/format';
import { setLanguage } from '../lib/i18n.svelte';

describe('dates', () => {
  it('adds days across month and year ends', () => {
    expect(addDays('2025-10-10', 1)).toBe('2025-10-11');
    expect(addDays('2025-12-29', 3)).toBe('2026-01-01');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(daysBetween('2025-10-10', '2025-10-17')).toBe(7);
  });

  it('says how long ago, plural-free', () => {
    setLanguage('en');
    const now = Date.parse('2025-10-10T12:00:00Z');
    expect(relativeTime('2025-10-10T11:59:30Z', now)).toBe('just now');
    expect(relativeTime('2025-10-10T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2025-10-10T09:00:00Z', now)).toBe('3 h ago');
    setLanguage('vi');
    expect(relativeTime('2025-10-08T12:00:00Z', now)).toBe('2 ngày trước');
  });
});
