import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import VisitForm from '../components/VisitForm.svelte';
import type { VisitInput, VisitRow } from '../lib/bindings';
import { setTransport } from '../lib/api';
import { setLanguage } from '../lib/i18n.svelte';
import { fakeBackend } from './fake';

function backend() {
  const fake = fakeBackend({
    visit_record: (args: VisitInput): VisitRow => ({
      id: 'visit-1',
      started_at: '2025-10-10T08:00:00Z',
      ended_at: null,
      outcome: args.outcome,
      follow_up_on: args.follow_up_on,
      notes: args.notes,
      referred_by: args.referred_by,
      member_id: null,
    }),
    peer_search: () => [],
  });
  setTransport(fake);
  return fake;
}

describe('VisitForm', () => {
  it('saves "helped" with two taps', async () => {
    const fake = backend();
    const onsaved = vi.fn();
    const { getByTestId } = render(VisitForm, { props: { householdId: 'hh-1', today: '2025-10-10', onsaved } });
    await fireEvent.click(getByTestId('outcome-helped'));
    await fireEvent.click(getByTestId('visit-save'));
    await waitFor(() => expect(onsaved).toHaveBeenCalledTimes(1));
    expect(fake.calls).toEqual([
      {
        name: 'visit_record',
        args: { household_id: 'hh-1', outcome: 'helped', notes: null, follow_up_on: null, referred_by: null },
      },
    ]);
    expect(onsaved.mock.calls[0][0]).toMatchObject({ id: 'visit-1', outcome: 'helped' });
  });

  it('"nobody home" proposes tomorrow; a quick pick overrides it', async () => {
    const fake = backend();
    const onsaved = vi.fn();
    const { getByTestId } = render(VisitForm, { props: { householdId: 'hh-2', today: '2025-12-31', onsaved } });
    await fireEvent.click(getByTestId('outcome-nobody_home'));
    expect(getByTestId('followup-tomorrow').getAttribute('aria-pressed')).toBe('true');
    await fireEvent.click(getByTestId('followup-nextWeek'));
    await fireEvent.input(getByTestId('visit-notes'), { target: { value: '  Dogs at the gate ' } });
    await fireEvent.click(getByTestId('visit-save'));
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(fake.calls[0].args).toMatchObject({ outcome: 'nobody_home', follow_up_on: '2026-01-07', notes: 'Dogs at the gate' });
  });

  it('asks for an outcome instead of saving nothing', async () => {
    setLanguage('en');
    const fake = backend();
    const { getByTestId } = render(VisitForm, { props: { householdId: 'hh-3', today: '2025-10-10', onsaved: vi.fn() } });
    await fireEvent.click(getByTestId('visit-save'));
    expect(getByTestId('visit-need-outcome').textContent).toBe('First choose how the visit went.');
    expect(fake.calls).toHaveLength(0);
  });

  it('shows a backend failure in plain words', async () => {
    setLanguage('en');
    setTransport(
      fakeBackend({
        visit_record: () => {
          throw { kind: 'store', message: 'disk I/O error' };
        },
      }),
    );
    const { getByTestId } = render(VisitForm, { props: { householdId: 'hh-4', today: '2025-10-10', onsaved: vi.fn() } });
    await fireEvent.click(getByTestId('outcome-declined'));
    await fireEvent.click(getByTestId('visit-save'));
    await waitFor(() => expect(getByTestId('visit-error').textContent).toContain('could not be read or written'));
  });
});
