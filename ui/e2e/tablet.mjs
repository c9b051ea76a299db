// A simulated tablet driven through the `doorstep` device CLI (one SQLite
// file each): enrol, sync, add households and people, record visits and
// checklists, edit fields, read them back.

import path from 'node:path';
import { DEVICE_BIN } from './backend.mjs';
import { run } from './procs.mjs';

export class Tablet {
  constructor(dir, name) {
    this.dir = dir;
    this.name = name;
    this.db = path.join(dir, `${name}.db`);
  }

  /** `doorstep --db DB ARGS...`; returns stdout. */
  cli(args) {
    return run(DEVICE_BIN, ['--db', this.db, ...args], { cwd: this.dir, env: { DOORSTEP_LOG: 'warn' } });
  }

  /** The same with --json, parsed. */
  async json(args) {
    const out = await this.cli(['--json', ...args]);
    try {
      return JSON.parse(out);
    } catch {
      throw new Error(`doorstep ${args.join(' ')}: not JSON: ${out.slice(0, 300)}`);
    }
  }

  async enrol(serverUrl, code, label) {
    const r = await this.json(['enroll', '--server', serverUrl, '--code', code, '--label', label]);
    this.deviceId = r.device_id;
    return r;
  }

  sync() {
    return this.json(['sync']);
  }

  async addHousehold(village, head, extra = []) {
    return (await this.json(['household', 'add', '--village', village, '--head', head, ...extra])).household_id;
  }

  async addPerson(household, name, extra = []) {
    return (await this.json(['person', 'add', '--household', household, '--name', name, ...extra])).person_id;
  }

  async visit(household, outcome, extra = []) {
    return (await this.json(['visit', 'record', '--household', household, '--outcome', outcome, ...extra])).visit_id;
  }

  async startChecklist(person, pack) {
    return (await this.json(['checklist', 'start', '--person', person, '--pack', pack])).id;
  }

  step(run, outcome, extra = []) {
    return this.json(['checklist', 'step', run, outcome, ...extra]);
  }

  households(village) {
    return this.json(['household', 'list', '--village', village]);
  }

  household(id) {
    return this.json(['household', 'show', id]);
  }

  editHousehold(id, fields) {
    return this.json(['household', 'edit', id, ...fields]);
  }

  conflicts() {
    return this.json(['conflicts']);
  }
}
