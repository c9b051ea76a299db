import { describe, expect, it } from 'vitest';
import { isPlausibleCode, normaliseCode, parseEnrolPayload } from '../lib/qr';

describe('enrolment QR payload', () => {
  it('reads server and code from a doorstep:enrol link', () => {
    expect(parseEnrolPayload('doorstep:enrol?server=https%3A%2F%2Fdb.example.vn%3A8443&code=K7M2Q-9XDRT')).toEqual({
      server: 'https://db.example.vn:8443',
      code: 'K7M2Q-9XDRT',
    });
  });

  it('accepts an unencoded server, a code without dash, and any parameter order', () => {
    expect(parseEnrolPayload('  doorstep:enrol?code=k7m2q9xdrt&server=http://10.0.0.5:8080 ')).toEqual({
      server: 'http://10.0.0.5:8080',
      code: 'K7M2Q-9XDRT',
    });
  });

  it('accepts just a code', () => {
    expect(parseEnrolPayload('K7M2Q9XDRT')).toEqual({ server: null, code: 'K7M2Q-9XDRT' });
    expect(parseEnrolPayload('k7m2q-9xdrt')).toEqual({ server: null, code: 'K7M2Q-9XDRT' });
  });

  it('a link without server leaves the server to the user', () => {
    expect(parseEnrolPayload('doorstep:enrol?code=K7M2Q-9XDRT')).toEqual({ server: null, code: 'K7M2Q-9XDRT' });
  });

  it('rejects anything else', () => {
    expect(parseEnrolPayload('https://example.com')).toBeNull();
    expect(parseEnrolPayload('doorstep:enrol?server=https://x')).toBeNull();
    expect(parseEnrolPayload('doorstep:enrol?code=short')).toBeNull();
    expect(parseEnrolPayload('')).toBeNull();
  });

  it('normalises and checks codes', () => {
    expect(normaliseCode(' k7m2q 9xdrt ')).toBe('K7M2Q-9XDRT');
    expect(isPlausibleCode('K7M2Q-9XDRT')).toBe(true);
    expect(isPlausibleCode('K7M2Q9XDRT')).toBe(true);
    expect(isPlausibleCode('K7M2Q-9XDR')).toBe(false);
    expect(isPlausibleCode('K7M2Q-9XDR!')).toBe(false);
  });
});
