import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/svelte';
import Msg from '../components/Msg.svelte';
import { setLanguage } from '../lib/i18n.svelte';

describe('Msg', () => {
  it('isolates inserted names in <bdi> inside an Arabic sentence', () => {
    setLanguage('ar');
    const { container } = render(Msg, { props: { key: 'run.finishIntro', vars: { person: 'Lò Thị Mai', pack: 'VNeID' } } });
    const bdis = [...container.querySelectorAll('bdi')].map((b) => b.textContent);
    expect(bdis).toEqual(['Lò Thị Mai', 'VNeID']);
    expect(container.textContent).toBe('Lò Thị Mai — VNeID');
  });

  it('marks left-to-right values and leaves numbers alone', () => {
    setLanguage('en');
    const { container } = render(Msg, { props: { key: 'household.call', vars: { phone: '0987 654 321' }, ltr: ['phone'] } });
    expect(container.querySelector('bdi')?.getAttribute('dir')).toBe('ltr');
    expect(container.textContent).toBe('Call 0987 654 321');
    const n = render(Msg, { props: { key: 'villages.households', vars: { n: 5 } } });
    expect(n.container.querySelector('bdi')).toBeNull();
    expect(n.container.textContent).toBe('Households: 5');
  });
});
