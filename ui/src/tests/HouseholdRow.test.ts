import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/svelte';
import HouseholdRow from '../components/HouseholdRow.svelte';
import type { HouseholdRow as Row } from '../lib/bindings';
import { setLanguage } from '../lib/i18n.svelte';

const row: Row = {
  id: 'hh-1',
  head_name: 'Lò Văn Bun',
  landmark: 'Cạnh nhà văn hóa',
  phone: '0912345678',
  people: 4,
  last_visit_at: '2025-10-10T08:00:00Z',
  last_outcome: 'partial',
  follow_up_on: '2025-10-13',
  runs: 3,
  runs_completed: 1,
  runs_blocked: 1,
  status: 'follow_up_due',
};

describe('HouseholdRow', () => {
  it('shows the status in words (not colour alone), in Vietnamese', () => {
    setLanguage('vi');
    const { getByTestId, getByText } = render(HouseholdRow, { props: { household: row } });
    expect(getByTestId('status-follow_up_due').textContent).toContain('Cần quay lại');
    expect(getByText('Lò Văn Bun')).toBeTruthy();
    expect(getByText('Cạnh nhà văn hóa')).toBeTruthy();
    expect(getByText('Hướng dẫn: 1/3')).toBeTruthy();
  });

  it('links to the household and words the status in English', () => {
    setLanguage('en');
    const { getByTestId } = render(HouseholdRow, { props: { household: { ...row, status: 'done', follow_up_on: null } } });
    const link = getByTestId('household-row');
    expect(link.getAttribute('href')).toBe('#/household/hh-1');
    expect(getByTestId('status-done').textContent).toContain('Done');
    expect(link.textContent).not.toContain('Follow up');
  });
});
