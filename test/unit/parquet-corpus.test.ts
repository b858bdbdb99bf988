// Apache parquet-testing through read_parquet (the real tool path: ToolHost), compared cell by cell with DuckDB,
// and with arrow-rs (parquet-wasm) where DuckDB cannot read a file. Runs itself again under TZ=Asia/Tokyo and
// TZ=America/New_York: nothing may depend on the host's zone.
import { IN_TZ_CHILD, printsZoneSummary, runTestFileUnderZones } from '../helpers/tz';
import { corpus } from '../helpers/corpora';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import type { TablePart } from '../../src/core/result';

const CORPUS = corpus('parquet-testing');
const DATA = path.join(CORPUS, 'data');
const BAD = path.join(CORPUS, 'bad_data');

/** Files we refuse, each with the reason; allowed only where the reference cannot read them either, or encryption. */
const REFUSED: Record<string, RegExp> = {
  // Parquet modular encryption: DuckDB needs the keys; we say "encrypted"
  'encrypt_columns_and_footer.parquet.encrypted': /encrypted/,
  'encrypt_columns_and_footer_aad.parquet.encrypted': /encrypted/,
  'encrypt_columns_and_footer_bloom_filter.parquet.encrypted': /encrypted/,
  'encrypt_columns_and_footer_ctr.parquet.encrypted': /encrypted/,
  'encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted': /encrypted/,
  'encrypt_columns_plaintext_footer.parquet.encrypted': /encrypted/,
  'external_key_material_java.parquet.encrypted': /encrypted/,
  'uniform_encryption.parquet.encrypted': /encrypted/,
};

/** Cells where the reference is wrong and we are not, each with the proof of why. Any other difference fails. */
const REFERENCE_WRONG: Record<string, { cell: string; why: string }> = {
  // INT96 row 5 holds Julian day -105,649,729 (about 294,000 BC): in int64 microseconds (DuckDB) or nanoseconds
  // (arrow-rs) that overflows and wraps to 226414 BC; we convert the 12 bytes exactly with BigInt.
  'data/int96_from_spark.parquet': { cell: 'row 5 a', why: 'the reference overflows int64 for an INT96 outside ±292,000 years' },
};

/** Raw JavaScript error text that must never reach the model. */
const RAW_JS = /Cannot read propert|Cannot destructure|is not a function|is not defined|Offset is outside|out of bounds|Invalid typed array|undefined \(reading|Maximum call stack|RangeError|TypeError|failed unexpectedly/;

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.parquet(\.encrypted)?$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

const pad = (n: number | bigint, w = 2) => String(n).padStart(w, '0');
const trimFrac = (s: string) => s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
/** DuckDB prints "226414-01-07 (BC) 22:21:39" for BC; the value model uses astronomical ISO years (1 BC = 0000). */
const bc = (s: string) => s.replace(/^(\d+)(-\d\d-\d\d) ?\(BC\)/, (_m, y: string, md: string) => `${Number(y) - 1 === 0 ? '0000' : `-${String(Number(y) - 1).padStart(4, '0')}`}${md}`);

/** DuckDB's value → the value model (written independently of the reader's conversions). */
function fromDuck(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v;
  const c = (v as object).constructor.name;
  const s = String(v);
  switch (c) {
    case 'DuckDBDecimalValue': return s;
    case 'DuckDBDateValue': return bc(s);
    case 'DuckDBTimestampValue': case 'DuckDBTimestampMillisecondsValue': case 'DuckDBTimestampNanosecondsValue': case 'DuckDBTimestampSecondsValue':
      return trimFrac(bc(s).replace(' ', 'T'));
    case 'DuckDBTimestampTZValue': {
      const m = /^(.*?)([+-]\d\d(:?\d\d)?)$/.exec(s);
      assert.ok(m && /^\+00(:?00)?$/.test(m[2]), `DuckDB TIMESTAMPTZ not in UTC: ${s}`);
      return `${trimFrac(m[1].replace(' ', 'T'))}Z`;
    }
    case 'DuckDBTimeValue': case 'DuckDBTimeNSValue': return trimFrac(s);
    case 'DuckDBBlobValue': case 'DuckDBGeometryValue': return (v as { bytes: Uint8Array }).bytes;
    case 'DuckDBUUIDValue': return s;
    case 'DuckDBListValue': case 'DuckDBArrayValue': return (v as { items: unknown[] }).items.map(fromDuck);
    case 'DuckDBStructValue': return Object.fromEntries(Object.entries((v as { entries: Record<string, unknown> }).entries).map(([k, x]) => [k, fromDuck(x)]));
    case 'DuckDBMapValue': return (v as { entries: { key: unknown; value: unknown }[] }).entries.map(e => [fromDuck(e.key), fromDuck(e.value)]);
    case 'DuckDBIntervalValue': return s;
    default: return `<unhandled DuckDB ${c}: ${s}>`;
  }
}

/** arrow-rs (via Arrow JS) value → the value model. */
function fromArrow(v: unknown, type: string, scale = 0): unknown {
  if (v === null || v === undefined) return null;
  if (/^Timestamp/.test(type)) {
    const [, unit, tz] = /^Timestamp<(\w+)(?:, (.*))?>$/.exec(type) ?? [];
    const per = { SECOND: 1n, MILLISECOND: 1000n, MICROSECOND: 1_000_000n, NANOSECOND: 1_000_000_000n }[unit as 'SECOND'] ?? 1000n;
    const n = BigInt(v as number | bigint);
    let secs = n / per; let frac = n % per; if (frac < 0n) { frac += per; secs -= 1n; }
    const d = new Date(Number(secs) * 1000);
    const iso = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return `${trimFrac(`${iso}.${pad(frac, String(per).length - 1)}`)}${tz ? 'Z' : ''}`;
  }
  if (/^Decimal/.test(type)) { // Arrow JS gives the unscaled integer; place the point
    const u = BigInt(String(v).replace(/"/g, '')); const neg = u < 0n; const d = (neg ? -u : u).toString().padStart(scale + 1, '0');
    return scale ? `${neg ? '-' : ''}${d.slice(0, d.length - scale)}.${d.slice(d.length - scale)}` : `${neg ? '-' : ''}${d}`;
  }
  if (typeof v === 'object' && (v as { toArray?: unknown }).toArray && !(v instanceof Uint8Array)) return [...(v as Iterable<unknown>)].map(x => fromArrow(x, ''));
  return v;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a); const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && a === b);
}

const show = (v: unknown) => JSON.stringify(v, (_k, x) => typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `\\x${Buffer.from(x).toString('hex')}` : x);

interface Reference { columns: string[]; rows: unknown[][]; by: 'DuckDB' | 'arrow-rs' }

async function references(files: string[]): Promise<Map<string, Reference | string>> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const out = new Map<string, Reference | string>();
  for (const f of files) {
    try {
      const r = await con.runAndReadAll(`SELECT * FROM read_parquet('${f.replace(/'/g, "''")}')`);
      out.set(f, { columns: r.columnNames(), rows: r.getRows().map(row => row.map(fromDuck)), by: 'DuckDB' });
    } catch (e) {
      const duckErr = (e as Error).message.split('\n')[0];
      try {
        const pw = await import('parquet-wasm');
        const arrow = await import('apache-arrow');
        const t = arrow.tableFromIPC(pw.readParquet(fs.readFileSync(f)).intoIPCStream());
        const types = t.schema.fields.map(x => String(x.type));
        const rows: unknown[][] = [];
        for (let i = 0; i < t.numRows; i++) rows.push(t.schema.fields.map((_x, j) => fromArrow(t.getChildAt(j)?.get(i), types[j], (t.schema.fields[j].type as { scale?: number }).scale ?? 0)));
        out.set(f, { columns: t.schema.fields.map(x => x.name), rows, by: 'arrow-rs' });
      } catch (e2) { out.set(f, `DuckDB: ${duckErr}; arrow-rs: ${(e2 as Error).message?.split('\n')[0] ?? String(e2)}`); }
    }
  }
  con.closeSync?.();
  return out;
}

test('every parquet-testing file reads like the reference reader, or is refused for a named reason', { timeout: 600_000 }, async () => {
  const files = [...parquetFiles(DATA), ...parquetFiles(BAD)];
  assert.ok(files.length > 80, `expected the parquet-testing corpus at ${CORPUS}`);
  const refs = await references(files);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-pqc-'));
  // whole files: n_rows is capped at the configured maxRows, so the test raises it
  const host = new ToolHost(resolveConfig({ allowedPaths: [CORPUS], auditLogPath: path.join(dir, 'audit.jsonl'), limits: { maxFileBytes: 1 << 30, maxRows: 1_000_000 } }));
  const identical: string[] = []; const refused: string[] = []; const problems: string[] = [];
  try {
    for (const f of files) {
      const rel = path.relative(CORPUS, f);
      const bad = f.startsWith(BAD);
      const r = await host.call('read_parquet', { file_path: f, n_rows: 1_000_000 }, { caller: 'test' });
      const ref = refs.get(f)!;
      if (r.isError) {
        if (RAW_JS.test(r.text)) { problems.push(`${rel}: raw JavaScript error text: ${r.text}`); continue; }
        if (!r.text.includes(f) && !r.text.includes(path.basename(f))) { problems.push(`${rel}: the error does not name the file: ${r.text}`); continue; }
        const reason = REFUSED[path.basename(f)];
        if (reason) { if (reason.test(r.text)) refused.push(`${rel}: ${r.text}`); else problems.push(`${rel}: refused, but not for the listed reason ${reason}: ${r.text}`); continue; }
        if (bad) { refused.push(`${rel}: ${r.text}`); continue; }
        if (typeof ref === 'string') { refused.push(`${rel}: ${r.text} (reference cannot read it either: ${ref})`); continue; }
        problems.push(`${rel}: we fail where ${ref.by} reads ${ref.rows.length} rows: ${r.text}`);
        continue;
      }
      const part = r.parts.find(p => p.kind === 'table') as TablePart;
      if (REFUSED[path.basename(f)]) { problems.push(`${rel}: read although listed as refused`); continue; }
      if (typeof ref === 'string') { problems.push(`${rel}: we read ${part.rows.length} rows where no reference can (${ref}); ${bad ? 'a bad_data file must be refused' : 'cannot verify'}`); continue; }
      const diffs: string[] = [];
      if (!same(part.columns.map(c => c.name), ref.columns)) diffs.push(`columns ${show(part.columns.map(c => c.name))} vs ${show(ref.columns)}`);
      if (part.rows.length !== ref.rows.length) diffs.push(`${part.rows.length} rows vs ${ref.rows.length}`);
      if (part.totalRows !== ref.rows.length) diffs.push(`total rows said ${part.totalRows} vs ${ref.rows.length}`);
      const m = /\(([\d.,]+ ?[KMG]?i?B|\d[\d,]* bytes?) of the file\)/.exec(r.text);
      if (!m) diffs.push(`no "(X of the file)" figure in: ${r.text.split('\n')[0]}`);
      if ((r.metrics?.bytes ?? Infinity) > fs.statSync(f).size) diffs.push(`bytes read ${r.metrics?.bytes} > file size ${fs.statSync(f).size}`);
      for (let i = 0; i < Math.min(part.rows.length, ref.rows.length) && diffs.length < 8; i++) {
        for (let j = 0; j < ref.columns.length; j++) {
          const a = part.rows[i][j]; const b = ref.rows[i][j];
          const known = REFERENCE_WRONG[rel];
          if (!same(a, b) && known?.cell === `row ${i} ${ref.columns[j]}`) { console.log(`  reference wrong: ${rel} ${known.cell}: ours ${show(a)} vs ${ref.by} ${show(b)} (${known.why})`); continue; }
          if (!same(a, b)) { diffs.push(`row ${i} ${ref.columns[j]} (${part.columns[j]?.type}): ours ${show(a)} vs ${ref.by} ${show(b)}`); if (diffs.length >= 8) break; }
        }
      }
      // a head (the page-cutting path) must equal the reference's first rows too
      if (!diffs.length && ref.rows.length > 3) {
        const h = await host.call('read_parquet', { file_path: f, n_rows: 3 }, { caller: 'test' });
        const hp = h.parts.find(p => p.kind === 'table') as TablePart | undefined;
        if (h.isError || !hp) diffs.push(`a 3-row head fails: ${h.text}`);
        else if (!same(hp.rows, ref.rows.slice(0, 3).map((r, i) => REFERENCE_WRONG[rel] ? part.rows[i] : r))) diffs.push(`3-row head ${show(hp.rows)} vs ${show(ref.rows.slice(0, 3))}`);
        else if (hp.totalRows !== ref.rows.length) diffs.push(`3-row head says ${hp.totalRows} rows vs ${ref.rows.length}`);
      }
      if (diffs.length) problems.push(`${rel} (vs ${ref.by}):\n    ${diffs.join('\n    ')}`);
      else identical.push(`${rel} (${ref.by}, ${part.rows.length} rows)`);
    }
  } finally { await host.dispose(); fs.rmSync(dir, { recursive: true, force: true }); }
  console.log(`[TZ=${process.env.TZ ?? ''}] ${identical.length} of ${files.length} files identical to the reference; ${refused.length} refused with a reason; ${problems.length} problems`);
  for (const x of refused) console.log(`  refused: ${x}`);
  for (const x of problems) console.log(`  DIFFERENCE: ${x.split('\n').map(l => l.slice(0, 400)).join('\n')}`);
  assert.deepEqual(problems, [], `${problems.length} files differ from the reference or fail badly`);
});

test('values do not depend on the host time zone', { timeout: 900_000, skip: IN_TZ_CHILD ? 'inside a TZ child run' : false }, () => {
  runTestFileUnderZones(__filename, printsZoneSummary);
});
