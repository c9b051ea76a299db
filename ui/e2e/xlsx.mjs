// Just enough of an XLSX reader for the tests: the sheet names in workbook
// order and each sheet's cells as a grid of strings and numbers.

import { strFromU8, unzipSync } from 'fflate';

const decode = (s) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');

const attr = (attrs, name) => attrs.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1];

/** The text of every <t> inside an XML fragment (rich text runs joined). */
const texts = (xml) => [...xml.matchAll(/<t\b[^>]*>([\s\S]*?)<\/t>/g)].map((m) => decode(m[1])).join('');

/** Column letters to a 0-based index: A -> 0, AA -> 26. */
function colIndex(letters) {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/**
 * Reads a workbook from its bytes. Returns { files, sheets: [{ name, rows }] }
 * where rows[r][c] is a string, a number or undefined.
 */
export function readXlsx(bytes) {
  const files = unzipSync(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  const text = (p) => (files[p] ? strFromU8(files[p]) : null);
  const workbook = text('xl/workbook.xml');
  if (!workbook) throw new Error(`not an XLSX file: no xl/workbook.xml among ${Object.keys(files).join(', ')}`);
  const rels = text('xl/_rels/workbook.xml.rels') ?? '';
  const target = new Map(
    [...rels.matchAll(/<Relationship\b([^>]*)\/?>/g)].map((m) => [attr(m[1], 'Id'), attr(m[1], 'Target')]),
  );
  const shared = [...(text('xl/sharedStrings.xml') ?? '').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) => texts(m[1]));
  const sheets = [];
  for (const m of workbook.matchAll(/<sheet\b([^>]*)\/?>/g)) {
    const name = decode(attr(m[1], 'name') ?? '');
    const rid = attr(m[1], 'r:id');
    let file = target.get(rid) ?? '';
    file = file.startsWith('/') ? file.slice(1) : `xl/${file}`;
    const xml = text(file);
    if (xml === null) throw new Error(`sheet "${name}": ${file} missing from the workbook`);
    const rows = [];
    for (const c of xml.matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const ref = attr(c[1], 'r');
      const type = attr(c[1], 't');
      const body = c[2] ?? '';
      const [, letters, digits] = ref.match(/^([A-Z]+)(\d+)$/);
      const v = body.match(/<v>([\s\S]*?)<\/v>/)?.[1];
      let value;
      if (type === 's') value = shared[Number(v)];
      else if (type === 'inlineStr') value = texts(body);
      else if (type === 'str' || type === 'e') value = v === undefined ? undefined : decode(v);
      else if (type === 'b') value = v === '1';
      else value = v === undefined ? undefined : Number(v);
      const r = Number(digits) - 1;
      (rows[r] ??= [])[colIndex(letters)] = value;
    }
    sheets.push({ name, rows });
  }
  return { files: Object.keys(files), sheets };
}
