//! Plain-language wording for failures. The backend's `ApiError.kind` picks the
//! sentence; its `message` is only shown when we have no sentence for the kind.

import { tk } from './i18n.svelte';
import { toCommandError } from './api';

/** Every failure kind a sync round can end with (`SyncFailure.kind`). */
export const SYNC_FAILURE_KINDS = [
  'no_network',
  'server_unreachable',
  'timeout',
  'connection_lost',
  'server_failed',
  'server_disk_full',
  'token_revoked',
  'unauthorized',
  'app_too_old',
  'server_too_old',
  'refused',
  'bad_answer',
  'diverged',
  'copied',
  'office_lost',
  'not_enrolled',
  'practice_store',
  'store',
] as const;

export type SyncFailureKind = (typeof SYNC_FAILURE_KINDS)[number];

/** Command error kinds with their own sentence (`error.<kind>` in the locales). */
export const COMMAND_ERROR_KINDS = [
  'bad_code',
  'server_unreachable',
  'no_network',
  'timeout',
  'bad_server_url',
  'already_enrolled',
  'not_enrolled',
  'no_visit_today',
  'not_found',
  'bad_input',
  'rule',
  'settings',
  'unknown_command',
  'practice_store',
  'store',
  'host_unreachable',
  'bad_answer',
  'wrong_pin',
  'pin_wait',
  'bad_pin',
  'locked',
  'no_lead_pin',
  'pin_required',
  'erased',
  'unknown',
] as const;

/** Kinds whose (English) message says which field or rule: shown after our sentence. */
const DETAIL_KINDS = new Set(['bad_input', 'rule']);

export interface Wording {
  /** What happened. */
  what: string;
  /** What to do about it. */
  todo: string;
}

/** The wording for a sync failure; unknown kinds fall back to the raw message. */
export function syncFailureWording(kind: string, message = ''): Wording {
  const what = tk(`syncFailure.${kind}`, undefined, '');
  if (what === '') {
    return { what: message || tk('syncFailure.unknown'), todo: tk('syncFailure.unknown.todo') };
  }
  return { what, todo: tk(`syncFailure.${kind}.todo`) };
}

/** One sentence (or two) for any thrown error, in the current language. */
export function errorText(e: unknown): string {
  const err = toCommandError(e);
  const known = tk(`error.${err.kind}`, undefined, '');
  // For a refused value the backend's message names the field: keep it.
  if (known !== '' && DETAIL_KINDS.has(err.kind) && err.message) return `${known} (${err.message})`;
  if (known !== '') return known;
  const sync = tk(`syncFailure.${err.kind}`, undefined, '');
  if (sync !== '') return `${sync} ${tk(`syncFailure.${err.kind}.todo`)}`;
  return err.message || tk('error.unknown');
}

/** The `kind` of a thrown error. */
export function errorKind(e: unknown): string {
  return toCommandError(e).kind;
}
