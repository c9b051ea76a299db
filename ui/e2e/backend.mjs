// The real backends: one `doorstep-server` with the demo campaign and the
// imported household register (as `.ci/demo` sets it up), and one
// `doorstep-ui-host` per simulated tablet.

import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePort, run, startProcess, stopProcess } from './procs.mjs';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
const BIN = process.env.DOORSTEP_BIN_DIR ?? path.join(REPO, 'target', 'debug');
export const SERVER_BIN = path.join(BIN, 'doorstep-server');
export const DEVICE_BIN = path.join(BIN, 'doorstep');
export const HOST_BIN = path.join(BIN, 'doorstep-ui-host');
export const UI_DIST = path.join(REPO, 'ui', 'dist');

export function checkBinaries() {
  const missing = [SERVER_BIN, DEVICE_BIN, HOST_BIN].filter((b) => !existsSync(b));
  if (missing.length > 0) {
    throw new Error(`missing binaries (build them with cargo first): ${missing.join(', ')}`);
  }
  if (!existsSync(path.join(UI_DIST, 'index.html'))) {
    throw new Error(`no built UI in ${UI_DIST}: run "npm run build" in ui/ first`);
  }
  // A stale build would test yesterday's UI: say so loudly.
  const built = statSync(path.join(UI_DIST, 'index.html')).mtimeMs;
  const newer = readdirSync(path.join(REPO, 'ui', 'src'), { recursive: true })
    .map((f) => path.join(REPO, 'ui', 'src', f))
    .filter((f) => !f.includes(`${path.sep}tests${path.sep}`) && statSync(f).isFile() && statSync(f).mtimeMs > built);
  if (newer.length > 0) {
    console.warn(`[e2e] WARNING: ui/dist is older than ${newer.length} file(s) in ui/src (e.g. ${path.relative(REPO, newer[0])}); run "npm run build" first`);
  }
}

export class Server {
  constructor(dir) {
    this.dir = dir;
    this.db = path.join(dir, 'server.db');
    this.proc = null;
    this.url = null;
    this.port = null;
  }

  /** `doorstep-server --db DB ARGS...` to completion. */
  admin(args, opts) {
    return run(SERVER_BIN, ['--db', this.db, ...args], { cwd: this.dir, ...opts });
  }

  /** The demo campaign and the commune office's register, imported from CSV. */
  async setUp() {
    await this.admin(['campaign', 'create', '--demo']);
    const reg = path.join(this.dir, 'register.db');
    const csv = path.join(this.dir, 'register.csv');
    await run(DEVICE_BIN, ['--db', reg, 'init', '--demo'], { cwd: this.dir });
    await run(DEVICE_BIN, ['--db', reg, 'export', '--what', 'households', '--excel', '--out', csv], { cwd: this.dir });
    const out = await this.admin(['import', 'households', csv, '--skip-bad-rows']);
    return out.trim();
  }

  /** Starts serving; the first time on a free port, later on the same one. */
  async start() {
    const listen = `127.0.0.1:${this.port ?? 0}`;
    this.proc = await startProcess({
      name: 'doorstep-server',
      cmd: SERVER_BIN,
      args: ['--db', this.db, 'serve', '--listen', listen],
      cwd: this.dir,
      logFile: path.join(this.dir, 'server.log'),
      ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/,
      readyStream: 'stdout',
    });
    this.url = this.proc.match[1];
    this.port = Number(this.proc.match[2]);
    return this.url;
  }

  async stop() {
    if (this.proc) await stopProcess(this.proc);
    this.proc = null;
  }

  /** A fresh one-time enrolment code for a volunteer of Muong Lan. */
  async enrolCode(member = 'Quàng Thị Hoa', commune = 'Muong Lan') {
    const out = await this.admin(['--json', 'enrol-code', 'new', '--member', member, '--commune', commune]);
    const code = JSON.parse(out).code;
    if (!code) throw new Error(`no code in: ${out}`);
    return code;
  }

  /** One kind of record (or a figures export) as CSV text. */
  async exportCsv(what, extra = []) {
    const file = path.join(this.dir, `export-${what}-${Date.now()}.csv`);
    await this.admin(['export', what, ...(what === 'person' ? [] : ['--lang', 'en']), '--out', file, ...extra]);
    return readFileSync(file, 'utf8');
  }
}

/** One tablet: `doorstep-ui-host` on a fresh data folder. */
export async function startHost(dataDir, { syncInterval = 2 } = {}) {
  mkdirSync(dataDir, { recursive: true });
  // The host takes a fixed port: find a free one, retry if someone took it meanwhile.
  let lastErr = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const proc = await startProcess({
        name: 'doorstep-ui-host',
        cmd: HOST_BIN,
        args: ['--data', dataDir, '--ui', UI_DIST, '--listen', `127.0.0.1:${port}`, '--sync-interval', String(syncInterval)],
        cwd: dataDir,
        logFile: path.join(dataDir, '..', `${path.basename(dataDir)}-host.log`),
        ready: /doorstep-ui-host: (http:\/\/\S+?)\/? /,
        readyStream: 'stderr',
      });
      return { proc, url: proc.match[1].replace(/\/$/, '') + '/' };
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}
