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
