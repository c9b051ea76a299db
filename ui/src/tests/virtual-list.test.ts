import { describe, expect, it } from 'vitest';
import { fireEvent, render } from '@testing-library/svelte';
import Harness from './VirtualListHarness.svelte';

describe('VirtualList', () => {
  it('renders only a window of rows for 10,000 items', () => {
    const { getAllByRole, getByRole } = render(Harness, { props: { count: 10_000, rowHeight: 90, viewportHeight: 800 } });
    const rows = getAllByRole('listitem');
    // 800 / 90 → 9 visible rows + 1 + overscan 6 below (none above at the top).
    expect(rows.length).toBeGreaterThan(8);
    expect(rows.length).toBeLessThan(30);
    expect(rows[0].textContent).toContain('Household 0');
    expect(rows[0].getAttribute('aria-setsize')).toBe('10000');
    expect((getByRole('list') as HTMLElement).style.height).toBe(`${10_000 * 90}px`);
  });

  it('moves the window when scrolled', async () => {
    const { getAllByRole, getByTestId } = render(Harness, { props: { count: 10_000, rowHeight: 90, viewportHeight: 800 } });
    const viewport = getByTestId('virtual-list');
    viewport.scrollTop = 90 * 5000;
    await fireEvent.scroll(viewport);
    const rows = getAllByRole('listitem');
    expect(rows.length).toBeLessThan(40);
    const first = Number(rows[0].getAttribute('aria-posinset'));
    expect(first).toBe(5000 - 6 + 1);
    expect(rows.some((r) => r.textContent?.includes('Household 5000'))).toBe(true);
    expect(rows.some((r) => r.textContent?.includes('Household 0'))).toBe(false);
    expect(rows[0].style.transform).toBe(`translateY(${(5000 - 6) * 90}px)`);
  });

  it('renders everything when the list is short', () => {
    const { getAllByRole } = render(Harness, { props: { count: 3 } });
    expect(getAllByRole('listitem')).toHaveLength(3);
  });
});
