// The UI's weight on the wire: every JS and CSS file of dist/assets,
// gzipped (level 9), against the budget of 250 KB. Sizes are exact, so this
// is a check, not a timing. Run after `npm run build`.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET = 250 * 1024;
const dir = new URL('../dist/assets/', import.meta.url).pathname;
let files;
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.js') || f.endsWith('.css'));
} catch {
  console.error(`size: ${dir} is missing: run npm run build first`);
  process.exit(2);
}
let raw = 0;
let gz = 0;
for (const f of files.sort()) {
  const bytes = readFileSync(join(dir, f));
  const z = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += z;
  console.log(`${f.padEnd(40)} ${String(bytes.length).padStart(8)} B  ${String(z).padStart(7)} B gzipped`);
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`total: ${kb(raw)} KB, ${kb(gz)} KB gzipped (budget ${kb(BUDGET)} KB gzipped)`);
if (gz > BUDGET) {
  console.error(`size: the UI is ${kb(gz - BUDGET)} KB over its budget`);
  process.exit(1);
}
