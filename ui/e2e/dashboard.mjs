#!/usr/bin/env node
// End-to-end test of the team-lead dashboard in headless Chromium.
//
// A real `doorstep-server` (demo campaign, imported household register, the
// demo lead's password) and two tablets of Muong Lan driven through the
// `doorstep` CLI: visits, a checklist with a blocked step, a neighbour who
// taught another household, and a conflict (both tablets change the same
// household's phone before syncing). Then, in Chromium: the sign-in (no
// session, wrong password, right password), every page in Vietnamese,
// English and Arabic (right to left: the layout, tables and charts mirrored)
// with axe-core and a full-page screenshot in docs/screenshots/,
// the overview's figures against `report overview --json`, settling the
// conflict (and a tablet getting the pick), and the XLSX and CSV downloads.
//
// Run from ui/: `npm run e2e:dashboard` (needs target/debug/doorstep-server
// and target/debug/doorstep). Env: E2E_KEEP=1 keeps the temp dir,
// CHROMIUM=/path/to/chromium, DOORSTEP_BIN_DIR=/path/to/binaries.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DEVICE_BIN, REPO, SERVER_BIN, Server } from './backend.mjs';
import { runAxe, SHOT_DIR } from './checks.mjs';
import { stopAll } from './procs.mjs';
import { Tablet } from './tablet.mjs';
import { readXlsx } from './xlsx.mjs';

const T = 15_000;
const LEAD = 'Lò Văn Thành';
const PASSWORD = 'demo-lead-2026';
const COMMUNE = 'Muong Lan';
const VIEWPORT = { width: 1280, height: 800 };
const LANGS = ['vi', 'en', 'ar'];
const DIR = { vi: 'ltr', en: 'ltr', ar: 'rtl' };
// Every page of the navigation bar, in its order.
const PAGES = [
  { name: 'overview', href: '/overview' },
  { name: 'follow-ups', href: '/follow-ups' },
  { name: 'peer-spread', href: '/peer-spread' },
  { name: 'conflicts', href: '/conflicts' },
  { name: 'devices', href: '/devices' },
  { name: 'members', href: '/members' },
  { name: 'campaigns', href: '/campaigns' },
  { name: 'exports', href: '/exports' },
];
const WORDS = Object.fromEntries(
  LANGS.map((l) => [l, JSON.parse(readFileSync(path.join(REPO, 'crates', 'dashboard', 'locales', `${l}.json`), 'utf8'))]),
);
const tr = (lang, key) => WORDS[lang][key] ?? key;

const started = Date.now();
const secs = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);
const log = (tag, msg) => console.log(`${secs()}s [${tag}] ${msg}`);

const summary = {
  steps: [], // { name, ok, s }
  axeBlocking: [],
  axeOther: [],
  shots: [],
  failures: [],
  pageErrors: [],
  checks: 0,
};

function check(cond, msg) {
  assert.ok(cond, msg);
  summary.checks++;
}
function checkEqual(actual, expected, msg) {
  assert.deepEqual(actual, expected, msg);
  summary.checks++;
}

/** Runs one step; a failure is recorded (and, when `critical`, ends the run). */
async function step(name, fn, { critical = false } = {}) {
  const t0 = Date.now();
  log('step', `▶ ${name}`);
  try {
    const r = await fn();
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    summary.steps.push({ name, ok: true, s });
    log('step', `✓ ${name} (${s} s)`);
    return r;
  } catch (e) {
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    summary.steps.push({ name, ok: false, s });
    summary.failures.push({ step: name, error: e.stack ?? String(e) });
    log('step', `✗ ${name} (${s} s): ${e.message}`);
    if (ctx.page) {
      mkdirSync(SHOT_DIR, { recursive: true });
      const shot = path.join(SHOT_DIR, `FAILED-dashboard-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
      await ctx.page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      log('step', `  at ${ctx.page.url()} (screenshot ${path.relative(REPO, shot)})`);
    }
    if (critical) throw e;
    return undefined;
  }
}

/** What the steps share. */
const ctx = {
  tmp: null,
  server: null,
  browser: null,
  page: null,
  a: null,
  b: null,
  made: {}, // what the tablets created
  baselineHouseholds: 0,
  conflict: null,
};

async function reportJson(what = 'overview') {
  return JSON.parse(await ctx.server.admin(['--json', 'report', what, '--commune', COMMUNE], { env: { DOORSTEP_LOG: 'warn' } }));
}

const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);

// ---- the page -----------------------------------------------------------------------

async function settle(page) {
  await page.waitForLoadState('load');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function assertLang(page, lang) {
  const { l, dir } = await page.evaluate(() => ({ l: document.documentElement.lang, dir: document.documentElement.dir }));
  checkEqual(l, lang, `<html lang> should be ${lang} on ${page.url()}`);
  checkEqual(dir, DIR[lang], `<html dir> should be ${DIR[lang]} on ${page.url()}`);
  // The language switch offers every other language, each named in itself.
  const offered = await page.locator('header .langs a').evaluateAll((as) => as.map((a) => [a.lang, a.dir, a.innerText.trim()]));
  checkEqual(
    offered,
    LANGS.filter((x) => x !== lang).map((x) => [x, DIR[x], tr(x, 'lang.name')]),
    `${lang}: the language switch on ${page.url()}`,
  );
}

/** Right to left: the header, tables and charts start at the right edge. */
async function checkMirrored(page, name, lang) {
  if (DIR[lang] !== 'rtl') return;
  const box = async (sel) => page.locator(sel).first().boundingBox();
  const brand = await box('header .brand');
  const tools = await box('header .tools');
  check(brand.x > tools.x, `${lang} ${name}: the brand on the right, the tools on the left`);
  const heads = page.locator('main table thead tr').first().locator('th');
  if ((await heads.count()) > 1) {
    const first = await heads.first().boundingBox();
    const last = await heads.last().boundingBox();
    check(first.x > last.x, `${lang} ${name}: a table's first column on the right`);
  }
  if (name === 'overview') {
    // The coverage chart: each village's label right of its bar.
    const chart = page.locator('section[aria-labelledby=coverage-h] svg');
    const label = await chart.locator('text.label').first().boundingBox();
    const bar = await chart.locator('rect.bar-part').first().boundingBox();
    check(label.x > bar.x + bar.width - 1, `${lang} overview: chart labels right of the bars`);
  }
}

/** axe + a full-page screenshot, recorded in the summary. */
async function examine(page, name, lang) {
  await settle(page);
  await assertLang(page, lang);
  await checkMirrored(page, name, lang);
  const axe = await runAxe(page);
  for (const v of axe.blocking) summary.axeBlocking.push({ screen: `${name}-${lang}`, url: page.url(), ...v });
  for (const v of axe.other) summary.axeOther.push({ screen: `${name}-${lang}`, url: page.url(), ...v });
  // No hover highlight where the last click was.
  await page.mouse.move(VIEWPORT.width - 2, VIEWPORT.height - 2);
  mkdirSync(SHOT_DIR, { recursive: true });
  const file = path.join(SHOT_DIR, `dashboard-${name}-${lang}.png`);
  // Whole pages, but the walking list (every unvisited house) is cut at the
  // first screens' worth: the picture shows the layout, not 300 rows.
  const fullPage = name !== 'follow-ups';
  await page.screenshot({ path: file, fullPage, caret: 'hide', animations: 'disabled' });
  summary.shots.push(file);
  const axeNote = axe.blocking.length
    ? `axe: ${axe.blocking.length} serious/critical (${axe.blocking.map((v) => v.id).join(', ')})`
    : `axe ok (${axe.passes} rules passed, ${axe.other.length} minor)`;
  log(lang, `  ${name}: ${axeNote}; ${path.relative(REPO, file)}`);
}

/** The rows of a table as { name (the row header), nums (the numeric cells) }. */
function tableRows(page, selector) {
  return page.locator(selector).evaluateAll((rows) =>
    rows.map((tr) => ({
      name: tr.querySelector('th')?.innerText.trim(),
      cells: [...tr.querySelectorAll('td')].map((td) => td.innerText.trim()),
    })),
  );
}

// ---- steps ----------------------------------------------------------------------------

async function setUpServer() {
  for (const b of [SERVER_BIN, DEVICE_BIN]) {
    if (!existsSync(b)) throw new Error(`missing ${b}: build it with cargo first`);
  }
  ctx.tmp = mkdtempSync(path.join(os.tmpdir(), 'doorstep-dash-e2e-'));
  log('setup', `temp dir ${ctx.tmp}`);
  ctx.server = new Server(ctx.tmp);
  const imported = await ctx.server.setUp();
  log('setup', imported.split('\n').pop());
  const out = await ctx.server.admin(['member', 'set-password', '--member', LEAD], { input: `${PASSWORD}\n` });
  log('setup', `${LEAD}: ${out.trim()}`);
  const before = await reportJson();
  ctx.baselineHouseholds = sum(before.villages, (v) => v.households);
  check(ctx.baselineHouseholds > 0, 'the register gave Muong Lan households');
  log('setup', `Muong Lan on the register: ${ctx.baselineHouseholds} households in ${before.villages.length} villages`);
  await ctx.server.start();
  log('setup', `doorstep-server at ${ctx.server.url}`);
}

async function fieldWork() {
  const { server } = ctx;
  const a = (ctx.a = new Tablet(ctx.tmp, 'tablet-a'));
  const b = (ctx.b = new Tablet(ctx.tmp, 'tablet-b'));
  await a.enrol(server.url, await server.enrolCode('Quàng Thị Hoa', COMMUNE), 'Máy tính bảng A');
  await b.enrol(server.url, await server.enrolCode('Cà Văn Dũng', COMMUNE), 'Máy tính bảng B');
  await a.sync();
  await b.sync();
  log('field', `two tablets enrolled in ${COMMUNE} (${a.deviceId.slice(-8)}, ${b.deviceId.slice(-8)}) and synced`);

  // Tablet A: a new household in Tam Tu, a resident, a visit, a checklist blocked at step 3.
  const m = ctx.made;
  m.head = 'Lò Văn Pắn';
  m.household = await a.addHousehold('Tam Tu', m.head, ['--phone', '0912345678', '--landmark', 'cạnh nhà văn hoá bản', '--members', '4']);
  m.person = await a.addPerson(m.household, 'Lò Thị Xuân', ['--birth-year', '1988', '--phone', '0987654321', '--phone-kind', 'android', '--own-number', 'yes', '--chip-id', 'yes']);
  m.visits = [await a.visit(m.household, 'helped', ['--follow-up', '+7d', '--notes', 'Con gái biết chữ, giúp mẹ dùng VNeID'])];
  m.run = await a.startChecklist(m.person, 'vneid');
  await a.step(m.run, 'done');
  await a.step(m.run, 'done');
  await a.step(m.run, 'blocked', ['no_sms_access', '--note', 'SIM chưa đăng ký chính chủ']);
  await a.sync();
  await b.sync();
  log('field', `tablet A: household "${m.head}" (Tam Tu), person, visit, VNeID checklist blocked (no_sms_access)`);

  // Tablet B: nobody home at a register household of Bun; a household of Khin
  // helped, sent by the resident tablet A helped (peer spread).
  const bun = await b.households('Bun');
  const khin = await b.households('Khin');
  m.bunHead = bun[0].head_name;
  m.khinHead = khin[0].head_name;
  m.visits.push(await b.visit(bun[0].id, 'nobody_home'));
  m.visits.push(await b.visit(khin[0].id, 'helped', ['--referred-by', m.person, '--notes', 'Chị Xuân giới thiệu']));
  m.reachedHouseholds = 2; // Pắn and the Khin household; "nobody home" is no reach
  m.visitedHouseholds = 3;
  await b.sync();
  await a.sync();
  log('field', `tablet B: nobody home at "${m.bunHead}" (Bun); helped "${m.khinHead}" (Khin), referred by Lò Thị Xuân`);

  // The conflict: both tablets change the household's phone before syncing.
  await a.editHousehold(m.household, ['--phone', '0911111111']);
  await b.editHousehold(m.household, ['--phone', '0922222222']);
  await a.sync();
  await b.sync();
  await a.sync();
  const conflicts = await a.conflicts();
  checkEqual(conflicts.length, 1, 'tablet A holds one conflict');
  checkEqual(conflicts[0].field, 'phone', 'the conflict is on the phone');
  ctx.conflict = { values: ['0911111111', '0922222222'], current: conflicts[0].current };
  log('field', `conflict on the phone of "${m.head}": A 0911111111 vs B 0922222222 (tablets show ${conflicts[0].current})`);

  // What the tablets recorded, as the server counts it.
  const r = await reportJson();
  checkEqual(sum(r.villages, (v) => v.households), ctx.baselineHouseholds + 1, 'register + the one new household');
  checkEqual(sum(r.villages, (v) => v.reached), m.reachedHouseholds, 'households reached');
  checkEqual(sum(r.volunteers, (v) => v.visits), m.visits.length, 'visits');
  const vneid = r.packs.find((p) => p.pack === 'vneid');
  check(vneid && vneid.runs === 1 && vneid.blocked === 1, `one VNeID run, blocked: ${JSON.stringify(vneid)}`);
  check(r.blockers.some((x) => x.key === 'no_sms_access' && x.count === 1), `no_sms_access blocker: ${JSON.stringify(r.blockers)}`);
  log('field', `server report: ${ctx.baselineHouseholds + 1} households, ${m.reachedHouseholds} reached, ${m.visits.length} visits, VNeID blocked 1`);
}

async function launch() {
  ctx.browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  log('setup', `Chromium ${ctx.browser.version()}`);
  const context = await ctx.browser.newContext({ viewport: VIEWPORT, baseURL: ctx.server.url, acceptDownloads: true });
  context.setDefaultTimeout(T);
  const page = (ctx.page = await context.newPage());
  page.on('pageerror', (e) => summary.pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Chromium asks for /favicon.ico, which the dashboard does not serve.
    if ((msg.location()?.url ?? '').endsWith('/favicon.ico')) return;
    // The refused sign-in answers 401 on purpose; Chromium logs that.
    if (ctx.expect401 && / 401 /.test(msg.text()) && (msg.location()?.url ?? '').endsWith('/login')) return;
    summary.pageErrors.push(`${page.url()}: console: ${msg.text()}`);
  });
}

async function signIn() {
  const { page } = ctx;
  // No session: the overview sends to the sign-in form.
  const resp = await page.goto('/overview');
  check(resp.ok(), `GET /overview ended in ${resp.status()}`);
  checkEqual(new URL(page.url()).pathname, '/login', 'no session: /overview redirects to /login');
  await page.locator('h1', { hasText: tr('vi', 'login.title') }).waitFor();
  log('login', 'no session: /overview → /login');

  // The sign-in form in every language (the links of the language switch).
  await examine(page, 'login', 'vi');
  await page.locator('header .tools a[lang="en"]').click();
  await page.waitForURL(/\/login\?lang=en$/);
  await page.locator('h1', { hasText: tr('en', 'login.title') }).waitFor();
  await examine(page, 'login', 'en');
  await page.locator('header .tools a[lang="ar"]').click();
  await page.waitForURL(/\/login\?lang=ar$/);
  await page.locator('h1', { hasText: tr('ar', 'login.title') }).waitFor();
  await examine(page, 'login', 'ar');
  await page.locator('header .tools a[lang="vi"]').click();
  await page.waitForURL(/\/login\?lang=vi$/);

  // A wrong password is refused, with the message, and no session.
  await page.getByLabel(tr('vi', 'login.name')).fill(LEAD);
  await page.getByLabel(tr('vi', 'login.password')).fill('sai-mat-khau-123');
  ctx.expect401 = true;
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: tr('vi', 'login.submit') }).click(),
  ]);
  checkEqual(refused.status(), 401, 'a wrong password answers 401');
  await page.getByRole('alert').waitFor();
  ctx.expect401 = false;
  await page.getByRole('alert').filter({ hasText: tr('vi', 'login.failed') }).waitFor();
  checkEqual(new URL(page.url()).pathname, '/login', 'still on the sign-in form');
  checkEqual(await page.getByLabel(tr('vi', 'login.name')).inputValue(), LEAD, 'the name stays filled in');
  await examine(page, 'login-refused', 'vi');
  log('login', `wrong password: 401, "${tr('vi', 'login.failed')}"`);

  // The right one.
  await page.getByLabel(tr('vi', 'login.password')).fill(PASSWORD);
  await page.getByRole('button', { name: tr('vi', 'login.submit') }).click();
  await page.waitForURL(/\/overview$/);
  await page.locator('header .who', { hasText: LEAD }).waitFor();
  log('login', `signed in as ${LEAD}`);
}

/** The overview's figures against the report and against what the tablets did. */
async function checkOverview(page, lang) {
  const r = await reportJson();
  const rows = await tableRows(page, 'section[aria-labelledby=coverage-h] table tbody tr');
  const num = (row, i) => Number(row.cells[i]);
  const commune = rows.find((x) => x.name === COMMUNE);
  check(commune, `a row for ${COMMUNE}: ${rows.map((x) => x.name).join(', ')}`);
  const cols = ['households', 'reached', 'not_visited', 'follow_up_due', 'in_progress', 'done'];
  for (const [i, k] of cols.entries()) {
    checkEqual(num(commune, i), sum(r.villages, (v) => v[k]), `${lang} overview: ${COMMUNE} ${k}`);
  }
  for (const v of r.villages) {
    const row = rows.find((x) => x.name === `${v.commune} / ${v.village}`);
    check(row, `${lang} overview: a row for ${v.village}`);
    for (const [i, k] of cols.entries()) checkEqual(num(row, i), v[k], `${lang} overview: ${v.village} ${k}`);
  }
  check(!rows.some((x) => x.name.includes('Chieng Sinh') || x.name.includes('Na Sai')), 'no other commune on the lead\'s page');
  // What the test itself made.
  const m = ctx.made;
  checkEqual(num(commune, 0), ctx.baselineHouseholds + 1, `${lang} overview: households = register + 1`);
  checkEqual(num(commune, 1), m.reachedHouseholds, `${lang} overview: households reached`);
  checkEqual(num(commune, 2), ctx.baselineHouseholds + 1 - m.visitedHouseholds, `${lang} overview: not visited`);
  const volunteers = await tableRows(page, 'section[aria-labelledby=volunteers-h] table tbody tr');
  const visits = sum(volunteers, (v) => Number(v.cells[1]));
  checkEqual(visits, m.visits.length, `${lang} overview: visits per volunteer add up to the visits recorded`);
  checkEqual(visits, sum(r.volunteers, (v) => v.visits), `${lang} overview: visits as in the report`);
  const packs = await tableRows(page, 'section[aria-labelledby=packs-h] table tbody tr');
  const vneid = packs.find((p) => p.name.startsWith('VNeID'));
  check(vneid, `${lang} overview: a VNeID row (${packs.map((p) => p.name).join(', ')})`);
  checkEqual(vneid.cells.map(Number).slice(0, 3), [1, 0, 1], `${lang} overview: VNeID started 1, completed 0, blocked 1`);
  checkEqual(await page.locator('main svg').count(), 5, `${lang} overview: five charts`);
  log(lang, `  overview figures: ${COMMUNE} ${num(commune, 1)}/${num(commune, 0)} households reached, ${visits} visits, VNeID blocked 1 — as the report`);
}

/** What each page must show, beyond axe. */
async function checkPage(page, name, lang) {
  const m = ctx.made;
  const main = page.locator('main');
  const text = await main.innerText();
  switch (name) {
    case 'overview':
      await checkOverview(page, lang);
      break;
    case 'follow-ups':
      check(text.includes(m.bunHead), `${lang} walking list: the nobody-home household "${m.bunHead}"`);
      check(!text.includes(m.head), `${lang} walking list: "${m.head}" (in progress, follow-up in 7 days) is not on it`);
      break;
    case 'peer-spread': {
      const r = await reportJson('peer-spread');
      const dds = await page.locator('dl.figures dd').allInnerTexts();
      checkEqual(Number(dds[0]), r.households_taught_by_neighbour, `${lang} peer spread: households taught, as the report`);
      checkEqual(Number(dds[0]), 1, `${lang} peer spread: one household sent by a neighbour`);
      check(text.includes(m.khinHead) && text.includes(m.head), `${lang} peer spread: the chain ${m.head} → ${m.khinHead}`);
      break;
    }
    case 'conflicts':
      checkEqual(await page.locator('section.conflict').count(), 1, `${lang} conflicts: one conflict`);
      for (const v of ctx.conflict.values) check(text.includes(v), `${lang} conflicts: value ${v} shown`);
      check(text.includes(m.head), `${lang} conflicts: names the household "${m.head}"`);
      check(text.includes(`${tr(lang, 'kind.household')} · ${tr(lang, 'field.phone')}`), `${lang} conflicts: what was edited, in words`);
      check(!/\d{4}-\d\d-\d\dT/.test(text), `${lang} conflicts: times in local words, not raw UTC stamps`);
      break;
    case 'devices':
      for (const label of ['Máy tính bảng A', 'Máy tính bảng B']) check(text.includes(label), `${lang} tablets: "${label}"`);
      checkEqual(await page.locator('form[action="/devices/revoke"]:not(:has(input[name="erase"]))').count(), 2, `${lang} tablets: two to revoke`);
      checkEqual(await page.locator('form[action="/devices/revoke"]:has(input[name="erase"][value="1"])').count(), 2, `${lang} tablets: two to revoke and erase`);
      // Each language's walk makes one code below; the earlier ones wait here.
      checkEqual(await page.locator('form[action="/devices/code/cancel"]').count(), LANGS.indexOf(lang), `${lang} tablets: codes not used yet`);
      check(!/\d{4}-\d\d-\d\dT/.test(text), `${lang} tablets: last sync in local time`);
      break;
    case 'campaigns':
      check(text.includes(COMMUNE) && text.includes('Tam Tu'), `${lang} campaigns: ${COMMUNE} and its villages`);
      check(!text.includes('Chieng Sinh'), `${lang} campaigns: not another commune`);
      checkEqual(await page.locator('form[action="/campaigns/create"]').count(), 0, `${lang} campaigns: a lead starts no campaign`);
      break;
    case 'members':
      for (const who of ['Quàng Thị Hoa', 'Cà Văn Dũng', LEAD]) check(text.includes(who), `${lang} members: ${who}`);
      check(!text.includes('Lò Thị Nga'), `${lang} members: not Chieng Sinh's lead`);
      break;
    case 'exports':
      checkEqual(await page.locator('select#what option').count(), 4, `${lang} exports: four kinds`);
      // The files speak Vietnamese and English; an Arabic page says so.
      checkEqual(text.includes(tr(lang, 'exports.in_english')), lang === 'ar', `${lang} exports: the files' language said when it differs`);
      break;
    default:
  }
}

async function walk(lang) {
  const { page } = ctx;
  // The language switch in the header, from the overview.
  await page.goto('/overview');
  const current = await page.evaluate(() => document.documentElement.lang);
  if (current !== lang) {
    await page.locator(`header .tools a[lang="${lang}"]`).click();
    await page.waitForURL(new RegExp(`[?&]lang=${lang}$`));
  }
  await assertLang(page, lang);
  for (const p of PAGES) {
    const link = page.locator(`header nav a[href="${p.href}"]`);
    checkEqual((await link.innerText()).trim(), tr(lang, `nav.${p.name.replace('-', '_')}`), `${lang}: nav label of ${p.href}`);
    await link.click();
    await page.waitForURL((u) => u.pathname === p.href);
    checkEqual(await page.locator(`header nav a[href="${p.href}"]`).getAttribute('aria-current'), 'page', `${lang}: ${p.href} marked current`);
    checkEqual(await page.title(), `${tr(lang, `${p.name.replace('-', '_')}.title`)} - Doorstep`, `${lang}: title of ${p.href}`);
    await checkPage(page, p.name, lang);
    await examine(page, p.name, lang);
    if (p.name === 'devices') {
      // A one-time code for a new tablet (a page reached by the form).
      await page.locator('#member').selectOption({ label: 'Quàng Thị Hoa' });
      await page.locator('form[action="/devices/code"] button[type=submit]').click();
      await page.locator('p.code').waitFor();
      const code = (await page.locator('p.code').innerText()).trim();
      check(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(code), `${lang}: a one-time code (${code})`);
      check((await page.locator('.qr svg').count()) === 1, `${lang}: its QR code`);
      await examine(page, 'devices-code', lang);
    }
  }
}

async function resolveConflict() {
  const { page, a, b } = ctx;
  await page.goto('/conflicts?lang=vi');
  const section = page.locator('section.conflict');
  checkEqual(await section.count(), 1, 'one conflict before');
  const radios = section.locator('input[type=radio][name=version]');
  checkEqual(await radios.count(), 2, 'two values to pick from');
  // Keep the value shown second (the one the tablets do not show).
  const labels = await section.locator('label.choice strong').allInnerTexts();
  const picked = labels[1].trim();
  check(ctx.conflict.values.includes(picked) && picked !== labels[0].trim(), `picking ${picked} over ${labels[0]}`);
  await section.locator('label.choice', { hasText: picked }).click();
  check(await radios.nth(1).isChecked(), 'the second value is chosen');
  await Promise.all([page.waitForURL(/\/conflicts$/), section.getByRole('button', { name: tr('vi', 'conflicts.keep') }).click()]);
  await page.getByText(tr('vi', 'conflicts.none')).waitFor();
  checkEqual(await page.locator('section.conflict').count(), 0, 'the conflict is gone from the page');
  log('conflict', `kept ${picked}; /conflicts: "${tr('vi', 'conflicts.none')}"`);
  await examine(page, 'conflicts-resolved', 'vi');

  for (const t of [b, a]) {
    await t.sync();
    const h = await t.household(ctx.made.household);
    checkEqual(h.phone, picked, `${t.name} shows the picked phone after syncing`);
    checkEqual((await t.conflicts()).length, 0, `${t.name} has no open conflict`);
    log('conflict', `${t.name} synced: phone ${h.phone}, no conflict left`);
  }
  ctx.picked = picked;
}

async function downloadExport(what) {
  const { page } = ctx;
  await page.goto('/exports?lang=vi');
  await page.locator('select#what').selectOption(what);
  const commune = await page.locator('select#commune option').allInnerTexts();
  checkEqual(commune.map((c) => c.trim()), [COMMUNE], 'the lead may export their commune only');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: tr('vi', 'exports.download') }).click(),
  ]);
  const file = path.join(ctx.tmp, download.suggestedFilename());
  await download.saveAs(file);
  const failure = await download.failure();
  check(!failure, `download of ${what} failed: ${failure}`);
  return { file, bytes: readFileSync(file), name: download.suggestedFilename() };
}

async function checkExports() {
  const r = await reportJson();
  const m = ctx.made;

  const xlsx = await downloadExport('workbook');
  check(/^doorstep-\d{4}-\d{2}-\d{2}\.xlsx$/.test(xlsx.name), `workbook file name ${xlsx.name}`);
  check(xlsx.bytes.subarray(0, 2).toString('latin1') === 'PK', 'the workbook is a zip');
  const book = readXlsx(xlsx.bytes);
  const names = book.sheets.map((s) => s.name);
  log('export', `${xlsx.name}: ${xlsx.bytes.length} bytes, sheets: ${names.join(', ')}`);
  checkEqual(names[0], 'Tổng hợp', 'the first sheet is the summary, its Vietnamese name intact');
  const villages = r.villages.map((v) => v.village);
  checkEqual([...names.slice(1)].sort(), [...villages].sort(), 'one sheet per village of Muong Lan');

  const summaryRows = book.sheets[0].rows.filter(Boolean);
  const flat = (rows) => rows.flatMap((row) => row.filter((c) => c !== undefined).map(String));
  const header = summaryRows[0];
  const hh = header.indexOf('Số hộ');
  check(hh >= 0, `a households column on the summary (header: ${header.join(' | ')})`);
  const whole = summaryRows.find((row) => row.includes('Cả xã'));
  check(whole, 'a whole-commune row "Cả xã" on the summary');
  const total = sum(r.villages, (v) => v.households);
  checkEqual(whole[hh], total, `summary: households of ${COMMUNE} as the report (${total})`);
  checkEqual(whole[hh + 1], sum(r.villages, (v) => v.reached), 'summary: households reached as the report');
  for (const v of r.villages) {
    const row = summaryRows.find((x) => x[1] === v.village);
    check(row && row[hh] === v.households, `summary: ${v.village} has ${v.households} households`);
  }
  // The pack table of the summary: its row for VNeID against the report.
  const packCol = header.indexOf('Gói hướng dẫn');
  check(packCol >= 0, 'a checklist pack table on the summary');
  const packRow = summaryRows.find((row) => typeof row[packCol] === 'string' && /vneid/i.test(row[packCol]));
  check(packRow, `summary: a VNeID row (${summaryRows.map((row) => row[packCol]).filter(Boolean).join(', ')})`);
  const vneid = r.packs.find((p) => p.pack === 'vneid');
  checkEqual(packRow.slice(packCol + 1, packCol + 6), [vneid.runs, vneid.completed, vneid.blocked, vneid.in_progress, vneid.residents_helped], 'summary: VNeID figures as the report');
  check(packRow[packCol] !== 'vneid', `summary: the pack by its title, as on the page ("${packRow[packCol]}")`);

  const tamTu = book.sheets.find((s) => s.name === 'Tam Tu');
  const tamTuText = flat(tamTu.rows.filter(Boolean));
  check(tamTuText.includes(m.head), `Tam Tu sheet: "${m.head}" with its diacritics intact`);
  check(tamTuText.some((c) => c.includes('Con gái biết chữ')), 'Tam Tu sheet: the visit notes intact');
  check(tamTuText.includes('Lò Thị Xuân'), 'Tam Tu sheet: the resident of the checklist run');
  const khin = flat(book.sheets.find((s) => s.name === 'Khin').rows.filter(Boolean));
  check(khin.includes(m.khinHead), `Khin sheet: "${m.khinHead}"`);
  log('export', `workbook: summary "Tổng hợp" (Cả xã ${whole[hh]} households, ${whole[hh + 1]} reached = report), ${names.length - 1} village sheets, "${m.head}" intact`);

  const csv = await downloadExport('visits');
  check(/^doorstep-visits-\d{4}-\d{2}-\d{2}\.csv$/.test(csv.name), `CSV file name ${csv.name}`);
  checkEqual([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV starts with the UTF-8 BOM');
  const text = csv.bytes.toString('utf8').slice(1);
  const lines = text.trim().split(/\r?\n/);
  checkEqual(lines.length - 1, m.visits.length, 'one CSV line per visit');
  check(text.includes(m.head) && text.includes(m.khinHead), 'the CSV names the households with diacritics');
  log('export', `${csv.name}: BOM, ${lines.length - 1} visits, "${m.head}" intact`);
}

// ---- main -----------------------------------------------------------------------------

async function main() {
  try {
    await step('start the server (demo campaign, register, lead password)', setUpServer, { critical: true });
    await step('field work on two tablets (visits, blocked checklist, conflict)', fieldWork, { critical: true });
    await step('launch Chromium', launch, { critical: true });
    await step('sign-in: redirect, wrong password, right password', signIn, { critical: true });
    for (const lang of LANGS) await step(`walk every page in ${lang}`, () => walk(lang));
    await step('settle the conflict; the tablets get the pick', resolveConflict);
    await step('XLSX and CSV downloads', checkExports);
    await step('no page errors', () => checkEqual(summary.pageErrors, [], 'page or console errors'));
  } catch {
    // recorded by step()
  } finally {
    await ctx.browser?.close().catch(() => {});
    await ctx.server?.stop().catch(() => {});
    await stopAll();
    if (ctx.tmp) {
      if (!process.env.E2E_KEEP && summary.failures.length === 0) rmSync(ctx.tmp, { recursive: true, force: true });
      else log('setup', `kept ${ctx.tmp} (server.log, tablet-*.db)`);
    }
  }
}

function report() {
  const line = '-'.repeat(78);
  console.log(`\n${line}\nDashboard e2e summary (${secs().trim()} s)`);
  for (const s of summary.steps) console.log(`  ${s.ok ? '✓' : '✗'} ${s.name} (${s.s} s)`);
  console.log(`  screenshots written: ${summary.shots.length} in ${path.relative(REPO, SHOT_DIR)}/`);
  console.log(`  axe serious/critical: ${summary.axeBlocking.length}`);
  for (const v of summary.axeBlocking) {
    console.log(`    ✗ ${v.screen} (${v.url}): ${v.id} (${v.impact}) ${v.help}`);
    for (const n of v.nodes.slice(0, 5)) console.log(`        ${n.target}  ${n.summary ?? ''}`);
  }
  const minor = new Map();
  for (const v of summary.axeOther) {
    const k = `${v.id} (${v.impact}): ${v.help}`;
    minor.set(k, [...(minor.get(k) ?? []), v]);
  }
  console.log(`  axe minor/moderate (reported only): ${minor.size === 0 ? 'none' : ''}`);
  for (const [k, vs] of minor) {
    console.log(`    - ${k}: ${vs.length} screen(s), e.g. ${vs.slice(0, 4).map((v) => v.screen).join(', ')}`);
    for (const n of vs[0].nodes.slice(0, 3)) console.log(`        ${n.target}`);
  }
  if (summary.pageErrors.length) console.log(`  page errors:\n    ${summary.pageErrors.join('\n    ')}`);
  console.log(`  assertions passed: ${summary.checks}`);
  if (summary.failures.length) {
    console.log(`  FAILURES: ${summary.failures.length}`);
    for (const f of summary.failures) console.log(`    ✗ ${f.step}: ${f.error.split('\n').slice(0, 8).join('\n      ')}`);
  }
  const ok = summary.failures.length === 0 && summary.axeBlocking.length === 0;
  console.log(`${line}\n${ok ? 'PASS' : 'FAIL'}${summary.axeBlocking.length ? ` (${summary.axeBlocking.length} serious/critical axe violations)` : ''}`);
  return ok;
}

let ok = false;
try {
  await main();
  ok = report();
} catch (e) {
  console.error(`\n${secs()}s [e2e] aborted: ${e.stack ?? e}`);
  await stopAll().catch(() => {});
  report();
}
process.exitCode = ok ? 0 : 1;
