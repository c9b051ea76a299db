//! Translations: three bundled locale files, one reactive current language.
//!
//! Strings are looked up by flat keys ("nav.villages"); `{name}` placeholders are
//! filled from `vars`. Phrasing avoids plurals ("Households: 5"), so no plural rules.

import type { Language } from './bindings';
import vi from '../locales/vi.json';
import en from '../locales/en.json';
import ar from '../locales/ar.json';

export type MessageKey = keyof typeof en;
export type Messages = Record<string, string>;

export const LANGUAGES: readonly Language[] = ['vi', 'en', 'ar'];
export const MESSAGES: Record<Language, Messages> = { vi, en, ar };

/** The language used before the user has chosen one. */
export const DEFAULT_LANGUAGE: Language = 'vi';

class I18nState {
  lang = $state<Language>(DEFAULT_LANGUAGE);
  dir = $derived<'rtl' | 'ltr'>(this.lang === 'ar' ? 'rtl' : 'ltr');
}

export const i18n = new I18nState();

/** BCP 47 tag for `Intl` (Latin digits in Arabic, so numbers match what people type). */
export function intlLocale(lang: Language = i18n.lang): string {
  return lang === 'ar' ? 'ar-u-nu-latn' : lang;
}

export function isRtl(lang: Language): boolean {
  return lang === 'ar';
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function interpolate(template: string, vars?: Record<string, string | number>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole,
  );
}

/** Translates a known key in the current language. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  return tk(key, vars);
}

/** Translates a computed key; falls back to English, then to `fallback ?? key`. */
export function tk(key: string, vars?: Record<string, string | number>, fallback?: string): string {
  const s = MESSAGES[i18n.lang][key] ?? MESSAGES.en[key];
  if (s === undefined) return fallback ?? key;
  return interpolate(s, vars);
}

/** One piece of a translated message: fixed text, or the value of placeholder `name`. */
export type MessagePart = { text: string; name?: string };

/**
 * A message cut at its placeholders, so a component can isolate each inserted
 * value (`<bdi>`): a Latin name inside an Arabic sentence then keeps its place.
 */
export function messageParts(key: MessageKey, vars: Record<string, string | number> = {}): MessagePart[] {
  const template = MESSAGES[i18n.lang][key] ?? MESSAGES.en[key] ?? key;
  const parts: MessagePart[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ text: template.slice(last, at) });
    const name = m[1];
    if (Object.prototype.hasOwnProperty.call(vars, name)) parts.push({ text: String(vars[name]), name });
    else parts.push({ text: m[0] });
    last = at + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

const FSI = String.fromCharCode(0x2068);
const PDI = String.fromCharCode(0x2069);

/**
 * Wraps user data for plain-text places (toasts, labels): Unicode first-strong
 * isolate … pop directional isolate, the text equivalent of `<bdi>`.
 */
export function isolate(s: string): string {
  return FSI + s + PDI;
}

/** True when a computed key exists. */
export function hasKey(key: string): boolean {
  return key in MESSAGES.en;
}

/** Switches language and mirrors it onto `<html lang dir>`. */
export function setLanguage(lang: Language, doc: Document | null = globalThis.document ?? null): void {
  i18n.lang = lang;
  if (doc) {
    doc.documentElement.lang = lang;
    doc.documentElement.dir = isRtl(lang) ? 'rtl' : 'ltr';
  }
}
