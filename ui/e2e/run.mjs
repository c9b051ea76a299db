#!/usr/bin/env node
// End-to-end suite for the Doorstep tablet UI in headless Chromium.
//
// A real `doorstep-server` (demo campaign + imported household register) and,
// for every language × viewport, a fresh `doorstep-ui-host` (a new tablet).
// Each tablet is enrolled with a fresh one-time code and walked through every
// screen as a volunteer would; every screen gets axe-core, a touch-target
// check and a screenshot in docs/screenshots/. One combination also takes the
// server away, records a visit offline, and checks that it arrives after the
// server is back. Finally the server's own exports must hold what was typed.
//
// Run from ui/: `npm run e2e` (needs target/debug binaries and ui/dist).
// Env: E2E_ONLY=vi-1280x800 (run one combination), E2E_KEEP=1 (keep temp dir),
//      E2E_MIN_TARGET=48 (smallest passing touch target, CSS px).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { checkBinaries, REPO, Server, startHost } from './backend.mjs';
import { FAIL_PX, WARN_PX, measureTargets, runAxe, screenshot, SHOT_DIR } from './checks.mjs';
import { stopAll, stopProcess } from './procs.mjs';

const T = 15_000; // default wait for anything on screen
const Q = { timeout: 2000 }; // a single look inside a polling loop, never its whole budget
const LANGS = ['vi', 'ar'];
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 800, height: 1280 },
];
const OFFLINE_COMBO = 'vi-1280x800';
const RUN_ID = Date.now().toString(36).slice(-5);

const LOCALES = Object.fromEntries(
  ['vi', 'en', 'ar'].map((l) => [l, JSON.parse(readFileSync(path.join(REPO, 'ui', 'src', 'locales', `${l}.json`), 'utf8'))]),
);
const tr = (lang, key, vars = {}) =>
  (LOCALES[lang][key] ?? LOCALES.en[key] ?? key).replace(/\{(\w+)\}/g, (w, k) => (k in vars ? String(vars[k]) : w));

const started = Date.now();
const secs = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);
const log = (tag, msg) => console.log(`${secs()}s [${tag}] ${msg}`);

// ---- results ---------------------------------------------------------------------

const summary = {
  screens: [], // { combo, screen }
  axeBlocking: [], // { combo, screen, id, impact, help, nodes }
  axeOther: [], // minor/moderate, reported only
  smallTargets: [], // { combo, screen, what, w, h }
  shots: [],
  failures: [], // { combo, error }
  checks: 0,
  targetsMeasured: 0,
  smallest: null, // the smallest touch target seen anywhere
};

// ---- helpers -----------------------------------------------------------------------

/** Polls `fn` until it returns a truthy value. */
async function until(fn, what, timeout = T, every = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

class Walk {
  constructor(page, lang, vp, tag) {
    this.page = page;
    this.lang = lang;
    this.vp = vp;
    this.tag = tag;
  }
  id(testid) {
    return this.page.getByTestId(testid);
  }
  t(key, vars) {
    return tr(this.lang, key, vars);
  }
  log(msg) {
    log(this.tag, msg);
  }

  /** No loading box on screen. */
  async settled() {
    await this.page.locator('[data-testid=loading]').first().waitFor({ state: 'detached', timeout: T });
  }

  async expectRoute(re) {
    await this.page.waitForURL(re, { timeout: T });
  }

  async assertLangDir() {
    const { lang, dir } = await this.page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));
    assert.equal(lang, this.lang, `<html lang> should be ${this.lang}`);
    assert.equal(dir, this.lang === 'ar' ? 'rtl' : 'ltr', `<html dir> for ${this.lang}`);
    summary.checks++;
  }

  /** axe, touch targets, screenshot; records everything in the summary. */
  async screen(name, { langChosen = true } = {}) {
    await this.settled();
    if (langChosen) await this.assertLangDir();
    summary.screens.push({ combo: this.tag, screen: name });

    const axe = await runAxe(this.page);
    for (const v of axe.blocking) summary.axeBlocking.push({ combo: this.tag, screen: name, ...v });
    for (const v of axe.other) summary.axeOther.push({ combo: this.tag, screen: name, ...v });

    const targets = await measureTargets(this.page);
    const small = targets.filter((x) => x.w < WARN_PX || x.h < WARN_PX);
    summary.targetsMeasured += targets.length;
    for (const x of targets) {
      if (!summary.smallest || Math.min(x.w, x.h) < Math.min(summary.smallest.w, summary.smallest.h)) summary.smallest = { combo: this.tag, screen: name, ...x };
    }
    for (const s of small) summary.smallTargets.push({ combo: this.tag, screen: name, ...s });

    // Confirmations fade after 4 s; close them so they do not cover the screenshot.
    for (const x of await this.page.locator('[data-testid=toast] button').all()) await x.click().catch(() => {});
    await this.page.locator('[data-testid=toast]').first().waitFor({ state: 'detached', timeout: T });

    // No hover highlight where the last tap was (a finger leaves no pointer behind).
    await this.page.mouse.move(this.vp.width / 2, 4);
    // Typed-in fields keep the focus ring; the screenshot shows the screen, not the caret.
    await this.page.evaluate(() => {
      const a = document.activeElement;
      if (a && a.matches('input[type=text], input[type=url], input[type=tel], input[type=search], textarea')) a.blur();
    });
    const file = await screenshot(this.page, `app-${name}-${this.lang}-${this.vp.width}x${this.vp.height}`);
    summary.shots.push(file);
    const axeNote = axe.blocking.length ? `axe: ${axe.blocking.length} serious/critical!` : `axe ok (${axe.passes} rules passed, ${axe.other.length} minor)`;
    const tNote = small.length ? `${small.length} of ${targets.length} targets < ${WARN_PX}px` : `${targets.length} targets ≥ ${WARN_PX}px`;
    this.log(`  screen ${name}: ${axeNote}; ${tNote}; ${path.relative(REPO, file)}`);
  }

  async click(testid) {
    await this.id(testid).click({ timeout: T });
  }

  /** A radio chip: the input is visually hidden, its label is what is tapped. */
  async pickRadio(testid) {
    const input = this.id(testid);
    await input.locator('xpath=ancestor::label[1]').click({ timeout: T });
    await until(() => input.isChecked(Q), `${testid} checked`);
  }

  async pressed(testid) {
    await until(async () => (await this.id(testid).getAttribute('aria-pressed', Q)) === 'true', `${testid} pressed`);
  }

  async nav(item, route) {
    await this.click(`nav-${item}`);
    await this.expectRoute(route);
    await this.settled();
  }

  async invoke(name, args = {}) {
    return this.page.evaluate(
      async ([n, a]) => {
        const res = await fetch(`./invoke/${n}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(a) });
        return res.json();
      },
      [name, args],
    );
  }

  /** Presses Sync now once the button is enabled again. */
  async syncNow() {
    const btn = this.id('sync-now');
    await until(() => btn.isEnabled(Q), 'Sync now enabled', 30_000);
    await btn.click();
  }

  async pendingText() {
    return (await this.id('sync-pending').innerText(Q)).trim();
  }

  async waitAllSent(timeout = 30_000) {
    const want = this.t('sync.nothingPending');
    await until(
      async () => (await this.pendingText()) === want && (await this.id('sync-now').isEnabled(Q)),
      `"${want}" on the sync screen`,
      timeout,
    );
    const s = await this.invoke('sync_screen');
    assert.equal(s.pending, 0, 'sync_screen.pending after sync');
    assert.equal(await this.id('sync-failure').count(), 0, 'no sync failure shown after a good sync');
    summary.checks++;
  }
}

/** The walk's PINs: the volunteer's, the team lead's, and the one the lead resets to. */
const PIN = '2468';
const LEAD_PIN = '9753';
const NEW_PIN = '1357';

// ---- the walk ------------------------------------------------------------------------

async function walkCombo(browser, server, tmp, lang, vp, records) {
  const tag = `${lang}-${vp.width}x${vp.height}`;
  const host = await startHost(path.join(tmp, `tablet-${tag}`));
  log(tag, `tablet (ui-host) at ${host.url}`);
  const context = await browser.newContext({
    viewport: vp,
    deviceScaleFactor: 1,
    locale: lang === 'ar' ? 'ar' : 'vi-VN',
    reducedMotion: 'reduce',
    hasTouch: true,
  });
  context.setDefaultTimeout(T);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // During the lock segment the backend refuses on purpose (423 locked,
  // 422 wrong PIN, 429 wait): Chromium logs each as a failed resource.
  const refusals = { expected: false, seen: 0 };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // 423 is the backend keeping data behind the PIN set-up or the lock: a
    // screen asked before it knew (right after enrolment, just as it
    // locked); the screen then shows the lock. Refused PINs only in the segment.
    const pattern = refusals.expected ? /status of (422|423|429)\b/ : /status of 423\b/;
    if (pattern && pattern.test(m.text())) {
      refusals.seen++;
      return;
    }
    pageErrors.push(`console: ${m.text()}`);
  });
  if (process.env.E2E_DEBUG) {
    page.on('response', async (r) => {
      if (!r.url().includes('/invoke/')) return;
      const body = await r.text().catch(() => '');
      log(tag, `    invoke ${r.url().split('/invoke/')[1]} -> ${r.status()} ${body.slice(0, 160)}`);
    });
  }
  const w = new Walk(page, lang, vp, tag);
  const offline = tag === OFFLINE_COMBO;
  const rec = { tag, lang };
  records.push(rec);

  try {
    // -- welcome: language, enrol --------------------------------------------------
    w.log('welcome: open the app on a new tablet');
    await page.goto(host.url);
    await w.expectRoute(/#\/welcome$/);
    await w.id(`lang-${lang}`).waitFor();
    await w.screen('welcome', { langChosen: false });
    await w.click(`lang-${lang}`);
    await w.id('enrol-server').waitFor();
    await w.assertLangDir();
    w.log(`welcome: chose ${lang}; lang/dir ok`);

    // The enrol screen (also reachable from settings) before enrolling.
    await page.evaluate(() => (location.hash = '#/enrol'));
    await w.expectRoute(/#\/enrol$/);
    await w.id('enrol-code').waitFor();
    await w.screen('enrol');
    await page.evaluate(() => (location.hash = '#/welcome'));
    await w.id('enrol-server').waitFor();

    const code = await server.enrolCode();
    w.log(`welcome: enrol with ${server.url} code ${code}`);
    await w.id('enrol-server').fill(server.url);
    await w.id('enrol-code').fill(code);
    await w.screen('welcome-enrol');
    await w.click('enrol-submit');

    // -- PIN set-up: right after enrolment, before any data shows ----------------------
    await w.id('pin-setup').waitFor();
    assert.equal(await page.locator('[data-testid^="village-"]').count(), 0, 'no field data behind the PIN set-up');
    await w.id('setup-pin').fill(PIN);
    await w.id('setup-again').fill('9999');
    await w.click('setup-save');
    await until(async () => (await w.id('setup-problem').innerText(Q)).trim() === w.t('pin.mismatch'), 'PINs that differ refused');
    await w.id('setup-again').fill(PIN);
    await w.id('setup-lead-pin').fill(LEAD_PIN);
    await w.id('setup-lead-again').fill(LEAD_PIN);
    await w.screen('pin-setup');
    await w.click('setup-save');
    await w.id('pin-setup').waitFor({ state: 'detached' });
    w.log('pin set-up: mismatch refused, then PIN and team lead PIN set');
    await w.expectRoute(/#\/villages$/);

    // -- villages -----------------------------------------------------------------------
    const villageName = lang === 'vi' ? 'Tam Tu' : 'Bun';
    const villageLink = page.locator('a[data-testid^="village-"]', { hasText: villageName });
    await villageLink.waitFor({ timeout: 30_000 });
    // The first sync also brings the register: wait for households in the card.
    await until(async () => /[1-9]/.test(await villageLink.innerText(Q)), `${villageName} households to arrive`, 30_000);
    w.log(`villages: ${await page.locator('a[data-testid^="village-"]').count()} villages arrived`);
    await w.screen('villages');

    // -- village: search and a filter chip ----------------------------------------
    await villageLink.click();
    await w.expectRoute(/#\/village\//);
    const rows = page.getByTestId('household-row');
    await rows.first().waitFor();
    const countOf = async (f) => Number((await w.id(`filter-count-${f}`).innerText(Q)).trim());
    const total = await countOf('all');
    assert.ok(total > 0, 'village has households');
    await w.screen('village');

    await w.click('filter-not_visited');
    await w.pressed('filter-not_visited');
    const notVisited = await countOf('not_visited');
    assert.ok(notVisited > 0, 'some households not visited yet');
    await until(async () => (await page.locator('[data-testid=household-row] [data-testid^=status-]').evaluateAll((els) => els.every((e) => e.dataset.testid === 'status-not_visited'))), 'only not-visited rows');
    const first = rows.first();
    const hhId = await first.getAttribute('data-household-id');
    const hhName = (await first.locator('.name').innerText()).trim();
    rec.household = hhName;
    w.log(`village ${villageName}: ${total} households, ${notVisited} not visited; picked "${hhName}"`);

    await w.id('household-search').fill(hhName);
    await until(async () => (await countOf('all')) < total && (await rows.count()) > 0, 'search to narrow the list');
    const hits = await rows.locator('.name').allInnerTexts();
    assert.ok(hits.every((n) => n.includes(hhName)), `search "${hhName}" shows only matching rows: ${hits.join(', ')}`);
    w.log(`village: search "${hhName}" -> ${await countOf('all')} household(s)`);
    await w.screen('village-search');
    await page.locator(`[data-testid=household-row][data-household-id="${hhId}"]`).click();

    // -- household: add a person --------------------------------------------------
    await w.expectRoute(new RegExp(`#/household/${hhId}$`));
    await until(async () => (await w.id('household-name').innerText(Q)).trim() === hhName, 'household name');
    await w.screen('household');

    const personName = `Lò Thị Mai ${tag.replace(/x\d+$/, '')} ${RUN_ID}`;
    rec.person = personName;
    await w.click('person-add');
    await w.id('person-form').waitFor();
    await w.id('person-name').fill(personName);
    await w.id('person-birth-year').fill('1988');
    await w.id('person-phone').fill('0987654321');
    await w.id('phone-kind-android').waitFor();
    await w.pickRadio('phone-kind-android');
    await w.pickRadio('person-own-name-yes');
    await w.pickRadio('person-chip-no');
    await w.id('person-notes').fill('Con gái giúp đọc tin nhắn');
    await w.id('person-form').evaluate((f) => f.scrollIntoView({ block: 'start' }));
    await w.screen('person-form');
    await w.click('person-save');
    await w.id('person-form').waitFor({ state: 'detached' });
    const person = page.locator('li[data-testid^="person-"]', { hasText: personName });
    await person.waitFor();
    const personId = (await person.getAttribute('data-testid')).replace(/^person-/, '');
    w.log(`household: added person "${personName}"`);

    // -- record a visit -------------------------------------------------------------
    await w.click('record-visit');
    await w.expectRoute(new RegExp(`#/household/${hhId}/visit$`));
    await w.click('outcome-helped');
    await w.pressed('outcome-helped');
    await w.click('followup-nextWeek');
    await w.pressed('followup-nextWeek');
    const notes = `Đã giúp cài VNeID (e2e ${tag} ${RUN_ID})`;
    rec.notes = notes;
    await w.id('visit-notes').fill(notes);
    // Wait for the search itself: "nobody found" already shows during the input debounce.
    const searched = page.waitForResponse((r) => r.url().endsWith('/invoke/peer_search'), { timeout: T });
    await w.id('peer-search').fill('Lò Thị');
    const found = await (await searched).json();
    const noPeers = page.getByText(w.t('visit.noPeers'));
    const candidates = page.locator('button.result[data-testid^="peer-"]');
    const others = found.filter((p) => p.household_id !== hhId);
    // Tablets walked before this one added people who have synced here since.
    if (records.some((r) => r.ok)) assert.ok(others.length > 0, 'people added on the earlier tablets are peer candidates here');
    if (others.length > 0) await candidates.first().waitFor();
    else await noPeers.waitFor();
    if ((await candidates.count()) > 0) {
      const chosen = (await candidates.first().locator('strong').innerText()).trim();
      await candidates.first().click();
      await w.id('peer-chosen').waitFor();
      rec.peer = chosen;
      w.log(`visit: "who taught them" -> ${chosen}`);
    } else {
      w.log('visit: no peer candidate yet (no one else in the commune has people)');
    }
    await w.screen('visit');
    await w.click('visit-save');
    await w.expectRoute(new RegExp(`#/household/${hhId}$`));
    await page.locator('[data-testid^="visit-"]', { hasText: notes }).waitFor();
    w.log('visit: recorded (helped, follow-up next week)');

    // -- VNeID checklist: all Done but one Blocked ----------------------------------
    await person.getByTestId(`person-start-${personId}`).click();
    await w.click('pack-start-vneid');
    await w.expectRoute(/#\/run\//);
    await w.id('run-step').waitFor();
    let stepNo = 0;
    let blockedAt = null;
    for (; stepNo < 30; stepNo++) {
      await w.settled();
      if (await w.id('run-finish').isVisible()) break;
      const step = w.id('run-step');
      await step.waitFor();
      const stepId = await step.getAttribute('data-step-id');
      const of = (await w.id('step-of').innerText()).trim();
      if (stepNo === 0) await w.screen('checklist-step');
      if (stepNo === 1) {
        await w.click('step-blocked');
        await w.id('blocker-panel').waitFor();
        const reasons = w.id('blocker-panel').locator('input[type=radio]');
        const reasonId = await reasons.first().getAttribute('data-testid');
        await w.pickRadio(reasonId);
        await w.id('blocker-note').fill('Quên mật khẩu VNeID');
        await w.screen('checklist-blocked');
        await w.click('blocker-save');
        blockedAt = `${of} (${reasonId})`;
      } else {
        await w.click('step-done');
      }
      await page.waitForFunction(
        (prev) => {
          if (document.querySelector('[data-testid=run-finish]')) return true;
          const s = document.querySelector('[data-testid=run-step]');
          return s !== null && s.getAttribute('data-step-id') !== prev;
        },
        stepId,
        { timeout: T },
      );
    }
    await w.id('run-finish').waitFor();
    const doneText = await w.id('summary-done').innerText();
    const blockedText = await w.id('summary-blocked').innerText();
    assert.match(blockedText, /\b1\b/, 'one step blocked');
    assert.match(doneText, new RegExp(`\\b${stepNo - 1}\\b`), `${stepNo - 1} steps done`);
    w.log(`checklist: ${stepNo} steps, blocked at ${blockedAt}; finish shows "${doneText}", "${blockedText}"`);
    await w.screen('checklist-finish');
    await w.click('run-back-household');
    await w.expectRoute(new RegExp(`#/household/${hhId}$`));
    await person.locator('[data-testid^="run-open-"]').waitFor();

    // -- sync ---------------------------------------------------------------------------
    await w.nav('sync', /#\/sync$/);
    await w.id('sync-pending').waitFor();
    w.log(`sync: before: "${await w.pendingText()}"`);
    await w.syncNow();
    await w.waitAllSent();
    w.log('sync: everything sent');
    await w.screen('sync');

    // -- team lead ----------------------------------------------------------------------
    await w.nav('lead', /#\/lead$/);
    await w.id('coverage-table').waitFor();
    await w.screen('lead');

    // -- settings: text size, practice mode ------------------------------------------
    await w.nav('settings', /#\/settings$/);
    await w.id('textsize-large').click();
    await w.pressed('textsize-large');
    await until(async () => (await page.evaluate(() => document.documentElement.style.fontSize)) === '21px', 'root font 21px');
    await w.screen('settings');
    await w.click('textsize-normal');
    await w.pressed('textsize-normal');
    await until(async () => (await page.evaluate(() => document.documentElement.style.fontSize)) === '18px', 'root font back to 18px');
    w.log('settings: text size large, then back to normal');

    await w.click('practice-toggle');
    await until(async () => (await w.id('practice-toggle').getAttribute('aria-checked', Q)) === 'true', 'practice on');
    await w.nav('villages', /#\/villages$/);
    await w.id('practice-banner').waitFor();
    await page.locator('a[data-testid^="village-"]').first().waitFor();
    await w.screen('practice');
    await w.nav('settings', /#\/settings$/);
    await w.click('practice-toggle');
    await until(async () => (await w.id('practice-toggle').getAttribute('aria-checked', Q)) === 'false', 'practice off');
    await w.id('practice-banner').waitFor({ state: 'detached' });
    w.log('settings: practice mode on (banner seen), then off');

    // -- app lock: idle time on a test clock, wrong PINs, the wait, a lead's reset ------
    await w.id('lock-settings').waitFor();
    refusals.expected = true;
    assert.equal((await w.id('key-holder').innerText(Q)).trim(), w.t('settings.keyHolder.key_file'), 'key holder shown');
    await page.clock.install();
    await w.id('lock-after').selectOption('1');
    await until(async () => (await w.invoke('app_state')).settings.lock_after_minutes === 1, 'lock after 1 min saved');
    await page.keyboard.press('Shift'); // input re-arms the idle timer on the test clock
    await page.clock.fastForward('00:50');
    assert.equal(await w.id('lock-screen').count(), 0, 'not locked before the idle time');
    await page.clock.fastForward('00:15');
    await w.id('lock-screen').waitFor();
    assert.equal(await page.locator('[data-testid^="village-"], [data-testid="lock-settings"]').count(), 0, 'nothing behind the lock');
    const refused = await page.evaluate(async () => {
      const r = await fetch('./invoke/villages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { status: r.status, body: await r.text() };
    });
    assert.ok(refused.body.includes('locked'), `a data command behind the lock is refused: ${refused.body}`);
    await w.screen('lock');
    const typePin = async (pin) => {
      for (const d of pin) await w.click(`pin-key-${d}`);
    };
    for (let i = 1; i <= 5; i++) {
      await until(() => w.id('pin-key-1').isEnabled(Q), 'keypad enabled');
      await typePin('1111');
      await w.click('pin-submit');
      await until(async () => (await w.invoke('lock_state')).failures === i, `wrong PIN ${i} counted`);
    }
    await w.id('lock-wait').waitFor();
    assert.equal(await w.id('pin-key-1').isEnabled(Q), false, 'keypad off during the wait');
    await w.screen('lock-wait');
    w.log('lock: idle lock on the test clock, 5 wrong PINs, then a wait');
    // The backend counts the wait on its own clock, not the page's: wait it out.
    await until(async () => (await w.invoke('lock_state')).wait_seconds === 0, 'the backend wait to end', 45_000);
    await page.clock.fastForward('00:31');
    await until(() => w.id('pin-key-1').isEnabled(Q), 'keypad back after the wait');
    await w.click('lock-forgot');
    await w.id('reset-lead-pin').fill(LEAD_PIN);
    await w.id('reset-new-pin').fill(NEW_PIN);
    await w.id('reset-again').fill(NEW_PIN);
    await w.screen('lock-reset');
    await w.click('reset-submit');
    await w.id('lock-screen').waitFor({ state: 'detached' });
    w.log('lock: a team lead reset the PIN with theirs; the app opened');
    // Locks again on going to the background; the new PIN opens it.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await w.id('lock-screen').waitFor();
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await typePin(NEW_PIN);
    await w.click('pin-submit');
    await w.id('lock-screen').waitFor({ state: 'detached' });
    await w.id('lock-after').selectOption('30');
    await until(async () => (await w.invoke('app_state')).settings.lock_after_minutes === 30, 'lock after 30 min saved');
    await page.waitForTimeout(500); // let the last refusals' console lines arrive
    refusals.expected = false;
    assert.ok(refusals.seen > 0, 'the lock segment saw the refusals it caused');
    w.log(`lock: background locks; the new PIN unlocks; lock after set to 30 min for the rest of the walk (${refusals.seen} refusals, as intended)`);

    // -- offline: the server goes away ------------------------------------------------
    if (offline) {
      w.log(`offline: stopping the server (${server.url})`);
      await server.stop();
      await w.nav('villages', /#\/villages$/);
      await villageLink.click();
      await w.id('household-search').fill(hhName);
      await page.locator(`[data-testid=household-row][data-household-id="${hhId}"]`).click();
      await w.expectRoute(new RegExp(`#/household/${hhId}$`));
      await w.click('record-visit');
      await w.click('outcome-partial');
      const offlineNotes = `Ghi khi mất mạng (e2e ${tag} ${RUN_ID})`;
      rec.offlineNotes = offlineNotes;
      await w.id('visit-notes').fill(offlineNotes);
      await w.click('visit-save');
      await page.locator('[data-testid^="visit-"]', { hasText: offlineNotes }).waitFor();
      w.log('offline: visit recorded while the server is down');

      await w.nav('sync', /#\/sync$/);
      await w.syncNow();
      await until(
        async () => ((await w.id('sync-offline').isVisible()) || (await w.id('sync-failure').isVisible())) && (await w.id('sync-now').isEnabled(Q)),
        'the offline or failure notice',
        30_000,
      );
      const pending = await w.pendingText();
      assert.notEqual(pending, w.t('sync.nothingPending'), 'changes still pending while offline');
      const s = await w.invoke('sync_screen');
      assert.ok(s.pending > 0, `pending > 0 while offline (got ${s.pending})`);
      const shown = [(await w.id('sync-offline').isVisible()) && 'sync-offline', (await w.id('sync-failure').isVisible()) && `sync-failure(${await w.id('sync-failure').getAttribute('data-kind')})`].filter(Boolean);
      w.log(`offline: sync screen shows ${shown.join(' + ')}; "${pending}"`);
      await w.screen('sync-offline');

      await server.start();
      w.log(`offline: server back at ${server.url}`);
      await w.syncNow();
      await w.waitAllSent();
      await w.id('sync-offline').waitFor({ state: 'hidden' });
      w.log('offline: pending back to 0 after the server returned');
    }

    assert.deepEqual(pageErrors, [], 'no page errors or console errors');
    rec.ok = true;
  } catch (e) {
    const shot = path.join(SHOT_DIR, `FAILED-${tag}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    log(tag, `FAILED at ${page.url()}: ${e.message}\n  (screenshot ${path.relative(REPO, shot)})`);
    if (pageErrors.length) log(tag, `page errors: ${pageErrors.join(' | ')}`);
    summary.failures.push({ combo: tag, error: e.stack ?? String(e) });
  } finally {
    await context.close().catch(() => {});
    await stopProcess(host.proc);
  }
}

// ---- main -------------------------------------------------------------------------------

async function main() {
  checkBinaries();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'doorstep-e2e-'));
  log('setup', `temp dir ${tmp}`);
  const server = new Server(tmp);
  let browser = null;
  const records = [];
  try {
    log('setup', (await server.setUp()).split('\n').pop());
    await server.start();
    log('setup', `doorstep-server at ${server.url}`);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      // Playwright gives every launch its own fresh, empty profile directory.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    log('setup', `Chromium ${browser.version()}`);

    const only = process.env.E2E_ONLY?.split(',');
    for (const lang of LANGS) {
      for (const vp of VIEWPORTS) {
        const tag = `${lang}-${vp.width}x${vp.height}`;
        if (only && !only.includes(tag)) continue;
        await walkCombo(browser, server, tmp, lang, vp, records);
      }
    }

    // -- what the server got -----------------------------------------------------------
    log('server', 'checking the server exports');
    try {
      const visits = await server.exportCsv('visits');
      const people = await server.exportCsv('person');
      for (const r of records.filter((x) => x.ok)) {
        assert.ok(visits.includes(r.notes), `server visits export has "${r.notes}"`);
        assert.ok(people.includes(r.person), `server person export has "${r.person}"`);
        if (r.offlineNotes) assert.ok(visits.includes(r.offlineNotes), `server has the offline visit "${r.offlineNotes}"`);
        const line = visits.split('\n').find((l) => l.includes(r.notes));
        assert.ok(line.includes(r.household), `visit row names the household "${r.household}": ${line}`);
        summary.checks += 3;
        log('server', `${r.tag}: household "${r.household}", visit notes, person${r.offlineNotes ? ', offline visit' : ''} arrived`);
      }
    } catch (e) {
      log('server', `FAILED: ${e.message}`);
      summary.failures.push({ combo: 'server', error: e.stack ?? String(e) });
    }
  } finally {
    await browser?.close().catch(() => {});
    await server.stop();
    await stopAll();
    if (!process.env.E2E_KEEP && summary.failures.length === 0) rmSync(tmp, { recursive: true, force: true });
    else log('setup', `kept ${tmp} (server.log, tablet-*-host.log)`);
  }
}

function report() {
  const line = '-'.repeat(78);
  console.log(`\n${line}\nSummary (${secs().trim()} s)`);
  const byCombo = new Map();
  for (const s of summary.screens) byCombo.set(s.combo, [...(byCombo.get(s.combo) ?? []), s.screen]);
  for (const [c, ss] of byCombo) console.log(`  ${c}: ${ss.length} screens: ${ss.join(', ')}`);
  console.log(`  screenshots written: ${summary.shots.length} in ${path.relative(REPO, SHOT_DIR)}/`);

  console.log(`  axe serious/critical: ${summary.axeBlocking.length}`);
  for (const v of summary.axeBlocking) {
    console.log(`    ✗ ${v.combo} ${v.screen}: ${v.id} (${v.impact}) ${v.help}`);
    for (const n of v.nodes.slice(0, 5)) console.log(`        ${n.target}  ${n.summary ?? ''}`);
  }
  const minor = new Map();
  for (const v of summary.axeOther) minor.set(`${v.id} (${v.impact})`, [...(minor.get(`${v.id} (${v.impact})`) ?? []), `${v.combo}/${v.screen}`]);
  console.log(`  axe minor/moderate (reported only): ${minor.size === 0 ? 'none' : ''}`);
  for (const [k, where] of minor) console.log(`    - ${k}: ${where.length} screen(s), e.g. ${where.slice(0, 3).join(', ')}`);

  const failing = summary.smallTargets.filter((s) => s.w < FAIL_PX || s.h < FAIL_PX);
  const uniq = new Map();
  for (const s of summary.smallTargets) {
    const k = `${s.screen}: ${s.what}`;
    const prev = uniq.get(k);
    if (!prev || Math.min(s.w, s.h) < Math.min(prev.w, prev.h)) uniq.set(k, s);
  }
  const sm = summary.smallest;
  console.log(`  touch targets measured: ${summary.targetsMeasured}; smallest: ${sm ? `${sm.w}x${sm.h} ${sm.what} (${sm.screen}, ${sm.combo})` : '-'}`);
  console.log(`  touch targets below ${WARN_PX}px: ${uniq.size === 0 ? 'none' : ''}`);
  for (const [k, s] of uniq) console.log(`    ${s.w < FAIL_PX || s.h < FAIL_PX ? '✗' : '!'} ${k} ${s.w}x${s.h} (${s.combo})`);

  console.log(`  assertions passed: ${summary.checks}`);
  if (summary.failures.length) {
    console.log(`  FAILURES: ${summary.failures.length}`);
    for (const f of summary.failures) console.log(`    ✗ ${f.combo}: ${f.error.split('\n').slice(0, 6).join('\n      ')}`);
  }
  const ok = summary.failures.length === 0 && summary.axeBlocking.length === 0 && failing.length === 0;
  console.log(`${line}\n${ok ? 'PASS' : 'FAIL'}${failing.length ? ` (${failing.length} touch targets below ${FAIL_PX}px)` : ''}${summary.axeBlocking.length ? ` (${summary.axeBlocking.length} serious/critical axe violations)` : ''}`);
  return ok;
}

let ok = false;
try {
  await main();
  ok = report();
} catch (e) {
  console.error(`\n${secs()}s [e2e] aborted: ${e.stack ?? e}`);
  summary.failures.push({ combo: 'setup', error: e.stack ?? String(e) });
  await stopAll().catch(() => {});
  report();
}
process.exitCode = ok ? 0 : 1;
