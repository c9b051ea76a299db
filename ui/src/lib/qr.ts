//! The team lead's enrolment QR: `doorstep:enrol?server=URL&code=CODE`, or just
//! the code. Codes are 10 letters/digits, shown as `K7M2Q-9XDRT`; the dash is optional.

export interface EnrolPayload {
  server: string | null;
  code: string;
}

const CODE_CHARS = /^[A-Z0-9]{10}$/;

/** Upper-cases, drops spaces and dashes, and re-inserts the dash after 5 chars. */
export function normaliseCode(raw: string): string {
  const bare = raw.toUpperCase().replace(/[\s-]/g, '');
  if (CODE_CHARS.test(bare)) return `${bare.slice(0, 5)}-${bare.slice(5)}`;
  return raw.trim().toUpperCase();
}

/** True when `raw` looks like an enrolment code (10 letters/digits, dash optional). */
export function isPlausibleCode(raw: string): boolean {
  return /^[A-Z0-9]{5}-?[A-Z0-9]{5}$/.test(raw.trim().toUpperCase().replace(/\s/g, ''));
}

/** Reads a scanned payload; `null` when it is neither form. */
export function parseEnrolPayload(text: string): EnrolPayload | null {
  const s = text.trim();
  const m = /^doorstep:(?:\/\/)?enrol\?(.*)$/i.exec(s);
  if (m) {
    const q = new URLSearchParams(m[1]);
    const code = q.get('code');
    if (!code || !isPlausibleCode(code)) return null;
    const server = q.get('server');
    return { server: server && server.trim() !== '' ? server.trim() : null, code: normaliseCode(code) };
  }
  if (isPlausibleCode(s)) return { server: null, code: normaliseCode(s) };
  return null;
}
