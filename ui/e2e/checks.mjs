// What is checked on every screen: axe-core, touch-target sizes, a screenshot.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilderModule from '@axe-core/playwright';
import { REPO } from './backend.mjs';

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;

export const SHOT_DIR = path.join(REPO, 'docs', 'screenshots');

/** Smallest touch target that passes (CSS px); smaller ones below WARN_PX are logged. */
export const FAIL_PX = Number(process.env.E2E_MIN_TARGET ?? 48);
export const WARN_PX = 48;

/** Runs axe on the page; returns { blocking, other } violation lists. */
export async function runAxe(page) {
  const result = await new AxeBuilder({ page }).analyze();
  const blocking = [];
  const other = [];
  for (const v of result.violations) {
    const entry = {
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary?.split('\n').slice(0, 3).join(' ') })),
    };
    if (v.impact === 'serious' || v.impact === 'critical') blocking.push(entry);
    else other.push(entry);
  }
  return { blocking, other, passes: result.passes.length };
}

/**
 * Every visible interactive element's size. Radio/checkbox inputs hidden inside
 * a chip label are measured as their label (the label is what is tapped);
 * inline text links inside running text are left out, as are elements that
 * are off-screen until focused (the skip link).
 */
export async function measureTargets(page) {
  return page.evaluate(() => {
    const out = [];
    const seen = new Set();
    const sel = 'button, a[href], input:not([type=hidden]), select, textarea, [role=switch], [role=button], summary';
    const describe = (el) => {
      const tid = el.getAttribute('data-testid');
      if (tid) return `[data-testid=${tid}]`;
      const txt = (el.innerText || el.getAttribute('aria-label') || el.getAttribute('placeholder') || '').trim().replace(/\s+/g, ' ');
      return `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''} "${txt.slice(0, 40)}"`;
    };
    for (let el of document.querySelectorAll(sel)) {
      if (el.closest('.visually-hidden')) continue;
      if ((el.type === 'radio' || el.type === 'checkbox') && el.closest('label')) el = el.closest('label');
      if (seen.has(el)) continue;
      seen.add(el);
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || cs.display === 'none') continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      // Off the page until focused (skip link).
      if (r.bottom < 0 || r.right < 0 || r.left > document.documentElement.scrollWidth) continue;
      // Inline text links inside running text.
      if (el.tagName === 'A' && cs.display === 'inline' && el.closest('p, li, dd, span') && !el.classList.contains('btn')) continue;
      out.push({ what: describe(el), w: Math.round(r.width * 10) / 10, h: Math.round(r.height * 10) / 10 });
    }
    return out;
  });
}

export async function screenshot(page, name) {
  mkdirSync(SHOT_DIR, { recursive: true });
  const file = path.join(SHOT_DIR, `${name}.png`);
  // Let the caret/spinners settle and web fonts (none: system fonts) paint.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: file, fullPage: false, caret: 'hide', animations: 'disabled' });
  return file;
}
