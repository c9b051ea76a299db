//! Dates and times in the user's language. Dates from the backend are
//! `YYYY-MM-DD` (the tablet's calendar day) and RFC 3339 timestamps.

import type { Language } from './bindings';
import { i18n, intlLocale, t } from './i18n.svelte';

const DAY_MS = 86_400_000;

function parseDay(day: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/** `YYYY-MM-DD` plus `n` days. */
export function addDays(day: string, n: number): string {
  const d = parseDay(day);
  if (!d) return day;
  return new Date(d.getTime() + n * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (both `YYYY-MM-DD`). */
export function daysBetween(from: string, to: string): number {
  const a = parseDay(from);
  const b = parseDay(to);
  if (!a || !b) return 0;
  return Math.round((b.getTime() - a.getTime()) / DAY_MS);
}

/** A calendar day, e.g. "12 thg 10, 2025". */
export function formatDay(day: string | null, lang: Language = i18n.lang): string {
  if (!day) return '';
  const d = parseDay(day.slice(0, 10));
  if (!d) return day;
  return new Intl.DateTimeFormat(intlLocale(lang), {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(d);
}

/** A moment, e.g. "12 Oct 2025, 14:05" in local time. */
export function formatTime(at: string | null, lang: Language = i18n.lang): string {
  if (!at) return '';
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  return new Intl.DateTimeFormat(intlLocale(lang), {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).format(d);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" (plural-free phrasing). */
export function relativeTime(at: string | null, now: number = Date.now()): string {
  if (!at) return '';
  const then = new Date(at).getTime();
  if (Number.isNaN(then)) return at;
  const sec = Math.max(0, Math.round((now - then) / 1000));
  if (sec < 60) return t('time.justNow');
  const min = Math.round(sec / 60);
  if (min < 60) return t('time.minutesAgo', { n: min });
  const h = Math.round(min / 60);
  if (h < 24) return t('time.hoursAgo', { n: h });
  return t('time.daysAgo', { n: Math.round(h / 24) });
}
