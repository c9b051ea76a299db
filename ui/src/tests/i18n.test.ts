import { describe, expect, it } from 'vitest';
import { MESSAGES, LANGUAGES, i18n, interpolate, isolate, messageParts, setLanguage, t, tk } from '../lib/i18n.svelte';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('locale files', () => {
  const en = Object.keys(MESSAGES.en).sort();

  it.each(LANGUAGES)('%s has exactly the English keys', (lang) => {
    expect(Object.keys(MESSAGES[lang]).sort()).toEqual(en);
  });

  it.each(LANGUAGES)('%s has no empty values', (lang) => {
    const empty = Object.entries(MESSAGES[lang]).filter(([, v]) => typeof v !== 'string' || v.trim() === '');
    expect(empty).toEqual([]);
  });

  it.each(LANGUAGES)('%s uses the same placeholders as English', (lang) => {
    const wrong = en.filter((k) => placeholders(MESSAGES[lang][k]).join() !== placeholders(MESSAGES.en[k]).join());
    expect(wrong).toEqual([]);
  });

  it('Vietnamese is really Vietnamese (diacritics present)', () => {
    expect(MESSAGES.vi['practice.banner']).toBe('LUYỆN TẬP — không đồng bộ');
    expect(MESSAGES.vi['nav.villages']).toMatch(/[ôơư]/);
  });
});

describe('t', () => {
  it('interpolates named values and leaves unknown ones alone', () => {
    expect(interpolate('Sent {pushed} of {total}', { pushed: 3, total: 9 })).toBe('Sent 3 of 9');
    expect(interpolate('Hello {who}', {})).toBe('Hello {who}');
  });

  it('follows the current language', () => {
    setLanguage('en');
    expect(t('run.stepOf', { n: 3, total: 9 })).toBe('Step 3 of 9');
    setLanguage('vi');
    expect(t('run.stepOf', { n: 3, total: 9 })).toBe('Bước 3/9');
  });

  it('falls back for unknown computed keys', () => {
    expect(tk('status.nonsense', undefined, 'raw')).toBe('raw');
    expect(tk('status.nonsense')).toBe('status.nonsense');
  });
});

describe('setLanguage', () => {
  it('sets lang and dir on <html>, right-to-left for Arabic', () => {
    setLanguage('ar');
    expect(document.documentElement.lang).toBe('ar');
    expect(document.documentElement.dir).toBe('rtl');
    expect(i18n.dir).toBe('rtl');
    setLanguage('en');
    expect(document.documentElement.lang).toBe('en');
    expect(document.documentElement.dir).toBe('ltr');
    expect(i18n.dir).toBe('ltr');
  });
});

describe('messageParts and isolate', () => {
  it('cuts a message at its placeholders and names the inserted values', () => {
    setLanguage('en');
    expect(messageParts('run.finishIntro', { person: 'Lò Văn Pắn', pack: 'VNeID' })).toEqual([
      { text: 'Lò Văn Pắn', name: 'person' },
      { text: ' — ' },
      { text: 'VNeID', name: 'pack' },
    ]);
    expect(messageParts('household.village', {})).toEqual([{ text: 'Village: ' }, { text: '{name}' }]);
  });

  it('isolate wraps text in first-strong isolate marks', () => {
    expect(isolate('Bun')).toBe('\u2068Bun\u2069');
  });
});
