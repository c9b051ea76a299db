//! Labels for blocker reasons and phone kinds, localised by the backend in the
//! current language; fetched once per language.

import type { Language, Vocabulary } from './bindings';
import { call } from './api';
import { i18n } from './i18n.svelte';

class VocabularyStore {
  byLang = $state<Partial<Record<Language, Vocabulary>>>({});
  current = $derived<Vocabulary | null>(this.byLang[i18n.lang] ?? null);
}

export const vocabulary = new VocabularyStore();
const inFlight = new Map<Language, Promise<Vocabulary>>();

/** Loads the vocabulary for the current language unless it is cached. */
export async function ensureVocabulary(): Promise<Vocabulary> {
  const lang = i18n.lang;
  const cached = vocabulary.byLang[lang];
  if (cached) return cached;
  let p = inFlight.get(lang);
  if (!p) {
    p = call('vocabulary', {});
    inFlight.set(lang, p);
  }
  try {
    const v = await p;
    vocabulary.byLang = { ...vocabulary.byLang, [lang]: v };
    return v;
  } finally {
    inFlight.delete(lang);
  }
}

/** Drops cached labels (after a sync may have installed new packs). */
export function forgetVocabulary(): void {
  vocabulary.byLang = {};
}

export function blockerLabel(code: string | null): string {
  if (!code) return '';
  return vocabulary.current?.blockers.find((b) => b.code === code)?.label ?? code;
}

export function phoneKindLabel(code: string | null): string {
  if (!code) return '';
  return vocabulary.current?.phone_kinds.find((b) => b.code === code)?.label ?? code;
}
