import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import type { AppState, LockState } from '../lib/bindings';
import { CommandError, setTransport } from '../lib/api';
import { app } from '../lib/app.svelte';
import { setLanguage } from '../lib/i18n.svelte';
import { isPin, lockAfterMs, newPinProblem, pinDigits, startLockWatch, triesLeft } from '../lib/lock';
import Lock from '../screens/Lock.svelte';
import PinSetup from '../screens/PinSetup.svelte';
import Erased from '../screens/Erased.svelte';
import { fakeBackend } from './fake';

function lockState(over: Partial<LockState> = {}): LockState {
  return { pin_set: true, lead_pin_set: true, pin_required: false, locked: false, failures: 0, wait_seconds: 0, ...over };
}

function appState(lock: LockState, over: Partial<AppState> = {}): AppState {
  return {
    settings: { language: 'en', text_size: 'normal', server_url: null, lock_after_minutes: 5 },
    enrolled: true,
    copied: false,
    practice: false,
    device_id: 'dev-1',
    commune_name: 'Mường Phăng',
    member_id: 'm-1',
    member_name: 'Lò Văn Tùng',
    member_role: 'volunteer',
    today: '2026-12-06',
    app_version: '0.1.0',
    lock,
    key_holder: 'key_file',
    erased: null,
    ...over,
  };
}

async function typePin(getByTestId: (id: string) => HTMLElement, pin: string) {
  for (const d of pin) await fireEvent.click(getByTestId(`pin-key-${d}`));
}

beforeEach(() => setLanguage('en'));
afterEach(() => {
  app.state = null;
  vi.useRealTimers();
});

describe('PIN rules', () => {
  it('takes 4 to 6 digits and nothing else', () => {
    expect(isPin('1234')).toBe(true);
    expect(isPin('123456')).toBe(true);
    expect(isPin('123')).toBe(false);
    expect(isPin('1234567')).toBe(false);
    expect(isPin('12a4')).toBe(false);
    expect(isPin('١٢٣٤')).toBe(false);
    expect(pinDigits('12-34 5678')).toBe('123456');
    expect(newPinProblem('12', '12')).toBe('pin.needDigits');
    expect(newPinProblem('1234', '1243')).toBe('pin.mismatch');
    expect(newPinProblem('2468', '2468')).toBeNull();
    expect(triesLeft(lockState({ failures: 3 }))).toBe(2);
    expect(triesLeft(lockState({ failures: 9 }))).toBe(0);
  });

  it('locks after the idle time from the settings, restarted by any input', async () => {
    vi.useFakeTimers();
    const fake = fakeBackend({ lock_now: () => lockState({ locked: true }) });
    setTransport(fake);
    app.state = appState(lockState(), { settings: { language: 'en', text_size: 'normal', server_url: null, lock_after_minutes: 2 } });
    expect(lockAfterMs()).toBe(120_000);
    const stop = startLockWatch();
    await vi.advanceTimersByTimeAsync(110_000);
    window.dispatchEvent(new Event('pointerdown'));
    await vi.advanceTimersByTimeAsync(110_000);
    expect(fake.calls.map((c) => c.name)).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(fake.calls.map((c) => c.name)).toEqual(['lock_now']);
    expect(app.locked).toBe(true);
    stop();
  });

  it('does not lock a tablet without a PIN', async () => {
    vi.useFakeTimers();
    const fake = fakeBackend({ lock_now: () => lockState({ locked: true }) });
    setTransport(fake);
    app.state = appState(lockState({ pin_set: false, lead_pin_set: false }), { enrolled: false });
    const stop = startLockWatch();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fake.calls).toEqual([]);
    stop();
  });
});

describe('Lock screen', () => {
  it('unlocks with the right PIN typed on the keypad', async () => {
    const fake = fakeBackend({
      lock_state: () => lockState({ locked: true }),
      unlock: ({ pin }) => {
        if (pin !== '2468') throw new CommandError('wrong_pin', 'wrong');
        return lockState();
      },
    });
    setTransport(fake);
    app.state = appState(lockState({ locked: true }));
    const { getByTestId } = render(Lock);
    expect((getByTestId('pin-submit') as HTMLButtonElement).disabled).toBe(true);
    await typePin(getByTestId, '2468');
    await fireEvent.click(getByTestId('pin-submit'));
    await waitFor(() => expect(app.locked).toBe(false));
    expect(fake.calls.find((c) => c.name === 'unlock')?.args).toEqual({ pin: '2468' });
  });

  it('counts wrong PINs, then waits with the keypad off', async () => {
    let failures = 0;
    const fake = fakeBackend({
      lock_state: () => lockState({ locked: true, failures, wait_seconds: failures >= 5 ? 30 : 0 }),
      unlock: () => {
        failures += 1;
        throw new CommandError(failures >= 5 ? 'pin_wait' : 'wrong_pin', 'wrong');
      },
    });
    setTransport(fake);
    app.state = appState(lockState({ locked: true }));
    const { getByTestId } = render(Lock);
    await typePin(getByTestId, '1111');
    await fireEvent.click(getByTestId('pin-submit'));
    await waitFor(() => expect(getByTestId('lock-message').textContent).toContain('Tries left before a wait: 4'));
    for (let i = 0; i < 4; i++) {
      await waitFor(() => expect((getByTestId('pin-key-1') as HTMLButtonElement).disabled).toBe(false));
      await typePin(getByTestId, '1111');
      await fireEvent.click(getByTestId('pin-submit'));
      await waitFor(() => expect(fake.calls.filter((c) => c.name === 'unlock').length).toBe(i + 2));
    }
    await waitFor(() => expect(getByTestId('lock-message').textContent).toContain('Wait 30 seconds'));
    expect(getByTestId('lock-wait').textContent).toContain('0:30');
    expect((getByTestId('pin-key-1') as HTMLButtonElement).disabled).toBe(true);
    expect(app.locked).toBe(true);
  });

  it('lets a team lead set a new PIN with their own', async () => {
    const fake = fakeBackend({
      lock_state: () => lockState({ locked: true }),
      pin_reset_by_lead: ({ lead_pin }) => {
        if (lead_pin !== '9753') throw new CommandError('wrong_pin', 'wrong');
        return lockState();
      },
    });
    setTransport(fake);
    app.state = appState(lockState({ locked: true }));
    const { getByTestId } = render(Lock);
    await fireEvent.click(getByTestId('lock-forgot'));
    await fireEvent.input(getByTestId('reset-lead-pin'), { target: { value: '1111' } });
    await fireEvent.input(getByTestId('reset-new-pin'), { target: { value: '4321' } });
    await fireEvent.input(getByTestId('reset-again'), { target: { value: '4321' } });
    await fireEvent.click(getByTestId('reset-submit'));
    await waitFor(() => expect(getByTestId('reset-message').textContent).toContain('team lead PIN is wrong'));
    await fireEvent.input(getByTestId('reset-lead-pin'), { target: { value: '9753' } });
    await fireEvent.click(getByTestId('reset-submit'));
    await waitFor(() => expect(app.locked).toBe(false));
    const resets = fake.calls.filter((c) => c.name === 'pin_reset_by_lead');
    expect(resets[resets.length - 1]?.args).toEqual({ lead_pin: '9753', new_pin: '4321' });
  });

  it('says plainly when no team lead PIN is set', async () => {
    setTransport(fakeBackend({ lock_state: () => lockState({ locked: true, lead_pin_set: false }) }));
    app.state = appState(lockState({ locked: true, lead_pin_set: false }));
    const { getByTestId } = render(Lock);
    await fireEvent.click(getByTestId('lock-forgot'));
    expect(getByTestId('lock-no-lead-pin').textContent).toContain('No team lead PIN');
  });
});

describe('PIN set-up', () => {
  it('refuses two different PINs without asking the backend, then saves', async () => {
    const fake = fakeBackend({ pin_setup: () => appState(lockState({ lead_pin_set: false })) });
    setTransport(fake);
    app.state = appState(lockState({ pin_set: false, lead_pin_set: false, pin_required: true }));
    const { getByTestId } = render(PinSetup);
    await fireEvent.input(getByTestId('setup-pin'), { target: { value: '1357' } });
    await fireEvent.input(getByTestId('setup-again'), { target: { value: '1358' } });
    await fireEvent.click(getByTestId('setup-save'));
    expect(getByTestId('setup-problem').textContent).toContain('not the same');
    expect(fake.calls).toEqual([]);
    await fireEvent.input(getByTestId('setup-again'), { target: { value: '1357' } });
    await fireEvent.input(getByTestId('setup-lead-pin'), { target: { value: '1357' } });
    await fireEvent.input(getByTestId('setup-lead-again'), { target: { value: '1357' } });
    await fireEvent.click(getByTestId('setup-save'));
    expect(getByTestId('setup-lead-problem').textContent).toContain('must differ');
    await fireEvent.input(getByTestId('setup-lead-pin'), { target: { value: '' } });
    await fireEvent.input(getByTestId('setup-lead-again'), { target: { value: '' } });
    await fireEvent.click(getByTestId('setup-save'));
    await waitFor(() => expect(app.pinRequired).toBe(false));
    expect(fake.calls).toEqual([{ name: 'pin_setup', args: { pin: '1357', lead_pin: null } }]);
  });
});

describe('Erase notice', () => {
  it('says how many changes were lost', () => {
    app.state = appState(lockState(), { erased: { at: '2026-12-06T09:00:00Z', unsent_changes: 7 }, key_holder: null });
    const { getByTestId } = render(Erased, { props: { notice: { at: '2026-12-06T09:00:00Z', unsent_changes: 7 } } });
    expect(getByTestId('erased-lost').textContent).toContain('7 changes had not been sent');
  });
});
