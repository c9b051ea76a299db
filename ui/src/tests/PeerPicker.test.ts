import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render } from '@testing-library/svelte';
import PeerPicker from '../components/PeerPicker.svelte';
import { setTransport } from '../lib/api';
import { setLanguage, t } from '../lib/i18n.svelte';
import { fakeBackend } from './fake';

describe('PeerPicker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says "searching" during the debounce and "nobody found" only after the search came back empty', async () => {
    vi.useFakeTimers();
    setLanguage('en');
    let answer: () => void = () => {};
    const fake = fakeBackend({ peer_search: () => new Promise((resolve) => (answer = () => resolve([]))) });
    setTransport(fake);
    const { getByTestId, queryByText } = render(PeerPicker, { props: { chosen: null, householdId: 'hh-1' } });
    const input = getByTestId('peer-search') as HTMLInputElement;
    input.value = 'Lò Thị';
    await fireEvent.input(input);
    expect(queryByText(t('visit.noPeers'))).toBeNull();
    expect(getByTestId('peer-searching')).toBeTruthy();
    await vi.advanceTimersByTimeAsync(200);
    expect(fake.calls).toEqual([{ name: 'peer_search', args: { search: 'Lò Thị', household_id: 'hh-1' } }]);
    expect(queryByText(t('visit.noPeers'))).toBeNull();
    answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(queryByText(t('visit.noPeers'))).not.toBeNull();
    // Typing more: the old "nobody found" is not about the new text.
    input.value = 'Lò Thị Mai';
    await fireEvent.input(input);
    expect(queryByText(t('visit.noPeers'))).toBeNull();
    expect(getByTestId('peer-searching')).toBeTruthy();
  });
});
