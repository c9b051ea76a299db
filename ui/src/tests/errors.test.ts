import { describe, expect, it } from 'vitest';
import { COMMAND_ERROR_KINDS, SYNC_FAILURE_KINDS, errorText, syncFailureWording } from '../lib/errors';
import { LANGUAGES, MESSAGES, setLanguage } from '../lib/i18n.svelte';
import { CommandError } from '../lib/api';

describe('sync failure wording', () => {
  for (const lang of LANGUAGES) {
    it.each(SYNC_FAILURE_KINDS)(`${lang}: %s says what happened and what to do`, (kind) => {
      expect(MESSAGES[lang][`syncFailure.${kind}`]?.trim()).toBeTruthy();
      expect(MESSAGES[lang][`syncFailure.${kind}.todo`]?.trim()).toBeTruthy();
      setLanguage(lang);
      const w = syncFailureWording(kind, 'english detail');
      expect(w.what).toBe(MESSAGES[lang][`syncFailure.${kind}`]);
      expect(w.todo).toBe(MESSAGES[lang][`syncFailure.${kind}.todo`]);
    });
  }

  it('an unknown kind shows the message with generic advice', () => {
    setLanguage('en');
    const w = syncFailureWording('martian', 'the dish fell over');
    expect(w.what).toBe('the dish fell over');
    expect(w.todo).toBe(MESSAGES.en['syncFailure.unknown.todo']);
  });
});

describe('errorText', () => {
  it('every command error kind has a sentence in every language', () => {
    for (const lang of LANGUAGES)
      for (const kind of COMMAND_ERROR_KINDS) expect(MESSAGES[lang][`error.${kind}`]?.trim(), `${lang} ${kind}`).toBeTruthy();
  });

  it('picks the sentence by kind, in the current language', () => {
    setLanguage('vi');
    expect(errorText(new CommandError('bad_code', 'code rejected'))).toBe(MESSAGES.vi['error.bad_code']);
    setLanguage('en');
    expect(errorText({ kind: 'timeout', message: 'x' })).toBe(MESSAGES.en['error.timeout']);
  });

  it('uses sync wording for sync kinds and the message for unknown kinds', () => {
    setLanguage('en');
    expect(errorText({ kind: 'token_revoked', message: 'x' })).toContain(MESSAGES.en['syncFailure.token_revoked']);
    expect(errorText({ kind: 'weird', message: 'Something specific' })).toBe('Something specific');
  });
});
