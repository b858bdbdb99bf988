// The Arrow project's IPC integration gold files (arrow-testing/data/arrow-ipc-stream/integration): every version
// folder, every case, the file form and the stream form, read whole with readArrowHead and compared cell by cell with
// the case's JSON gold (the integration JSON format: schema, then batches of VALIDITY/DATA/OFFSET/TYPE_ID/children),
// which this file turns into the value model itself, without the reader's code. Runs itself again under
// TZ=Asia/Tokyo and TZ=America/New_York: nothing may depend on the host's zone.
import { IN_TZ_CHILD, printsZoneSummary, runTestFileUnderZones } from '../helpers/tz';
import { corpus } from '../helpers/corpora';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ArrowFileError, readArrowHead } from '../../src/core/formats/arrow';
import type { RangedSource } from '../../src/core/formats/parquet';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import type { TablePart } from '../../src/core/result';
import * as os from 'node:os';

const GOLD = path.join(corpus('arrow-testing'), 'data', 'arrow-ipc-stream', 'integration');

/** Cases we refuse, each with the reason the refusal must give (matched against the error). Any other refusal fails,
 *  and so does a listed case that reads. Keys: "<version>/<case>". */
const REFUSED: Record<string, RegExp> = {};

/** Raw JavaScript error text that must never reach the model. */
const RAW_JS = /Cannot read propert|Cannot destructure|is not a function|is not defined|Offset is outside|out of bounds|Invalid typed array|undefined \(reading|Maximum call stack|RangeError|TypeError|unreachable/;

// ---- the gold JSON → the value model, written from the integration JSON format's description ----

interface JField { name: string; type: { name: string; [k: string]: unknown }; children?: JField[]; dictionary?: { id: number } }
interface JCol { name: string; count: number; VALIDITY?: number[]; DATA?: unknown[]; OFFSET?: (number | string)[]; SIZE?: (number | string)[]; TYPE_ID?: number[]; VIEWS?: JView[]; VARIADIC_DATA_BUFFERS?: string[]; children?: JCol[] }
interface JView { SIZE: number; INLINED?: string; PREFIX_HEX?: string; BUFFER_INDEX?: number; OFFSET?: number }
interface Gold { schema: { fields: JField[] }; batches: { count: number; columns: JCol[] }[]; dictionaries?: { id: number; data: { count: number; columns: JCol[] } }[] }

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const two = (n: number | bigint) => String(n).padStart(2, '0');
const PER: Record<string, bigint> = { SECOND: 1n, MILLISECOND: 1000n, MICROSECOND: 1_000_000n, NANOSECOND: 1_000_000_000n };

/** A civil date from a count of days, through Date.UTC arithmetic (the reader uses a days-to-civil algorithm). */
function civil(days: bigint): string {
  const d = new Date(Number(days) * 86_400_000);
  assert.ok(!Number.isNaN(d.getTime()), `gold date ${days} outside what Date can check`);
  const y = d.getUTCFullYear();
  const ys = y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${ys}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
}
const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
const frac = (f: bigint, per: bigint) => (f ? `.${f.toString().padStart(per.toString().length - 1, '0').replace(/0+$/, '')}` : '');
function timestamp(v: bigint, per: bigint, utc: boolean): string {
  const secs = floorDiv(v, per); const f = v - secs * per;
  const days = floorDiv(secs, 86400n); const sod = secs - days * 86400n;
  return `${civil(days)}T${two(sod / 3600n)}:${two(sod / 60n % 60n)}:${two(sod % 60n)}${frac(f, per)}${utc ? 'Z' : ''}`;
}
function time(v: bigint, per: bigint): string {
  const secs = v / per;
  return `${two(secs / 3600n)}:${two(secs / 60n % 60n)}:${two(secs % 60n)}${frac(v % per, per)}`;
}
/** ISO 8601 duration, each component with its own sign, zero "PT0S" (values.ts). */
function iso(months: bigint, days: bigint, nanos: bigint): string {
  const parts: [bigint, string][] = [[months / 12n, 'Y'], [months % 12n, 'M'], [days, 'D']];
  const h = nanos / 3_600_000_000_000n; const m = (nanos / 60_000_000_000n) % 60n; const s = nanos % 60_000_000_000n;
  const date = parts.filter(([v]) => v).map(([v, u]) => `${v}${u}`).join('');
  const sec = s ? `${s < 0n ? '-' : ''}${(s < 0n ? -s : s) / 1_000_000_000n}${frac((s < 0n ? -s : s) % 1_000_000_000n, 1_000_000_000n)}S` : '';
  const t = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${sec}`;
  return !date && !t ? 'PT0S' : `P${date}${t ? `T${t}` : ''}`;
}
function decimal(s: string, scale: number): string {
  let v = BigInt(s);
  if (scale <= 0) return (v * 10n ** BigInt(-scale)).toString();
  const neg = v < 0n; if (neg) v = -v;
  const d = v.toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${d.slice(0, d.length - scale)}.${d.slice(d.length - scale)}`;
}
/** The nearest IEEE half-precision value of x (the gold writes a float16 as its shortest decimal). */
function half(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const q = 2 ** (e - 10);
  return Math.round(x / q) * q;
}

/** Struct keys for fields that share a name: "a", "a#2", "a#3" (the reader's documented rule). */
function keysOf(fields: JField[]): string[] {
  const used = new Set<string>();
  return fields.map(f => { let k = f.name; for (let n = 2; used.has(k); n++) k = `${f.name}#${n}`; used.add(k); return k; });
}

type Dicts = Map<number, unknown[]>;

function goldColumn(f: JField, c: JCol, dicts: Dicts): unknown[] {
  const n = c.count;
  const valid = (i: number) => !c.VALIDITY || c.VALIDITY[i] === 1;
  const data = c.DATA ?? [];
  const out: unknown[] = [];
  const t = f.type;
  const kids = f.children ?? [];
  const ch = (j: number) => goldColumn(kids[j], c.children![j], dicts);
  if (f.dictionary) {
    const d = dicts.get(f.dictionary.id)!;
    for (let i = 0; i < n; i++) out.push(valid(i) ? d[Number(data[i])] : null);
    return out;
  }
  const each = (fn: (i: number) => unknown) => { for (let i = 0; i < n; i++) out.push(valid(i) ? fn(i) : null); return out; };
  const num = (x: unknown) => Number(x);
  switch (t.name) {
    case 'null': return Array(n).fill(null);
    case 'int': return each(i => ((t.bitWidth as number) === 64 ? BigInt(data[i] as string) : num(data[i])));
    case 'floatingpoint': return each(i => (t.precision === 'HALF' ? half(num(data[i])) : t.precision === 'SINGLE' ? Math.fround(num(data[i])) : num(data[i])));
    case 'bool': return each(i => data[i] === true);
    case 'utf8': case 'largeutf8': return each(i => data[i]);
    case 'binary': case 'largebinary': case 'fixedsizebinary': return each(i => hex(data[i] as string));
    case 'decimal': return each(i => decimal(data[i] as string, t.scale as number));
    case 'date': return each(i => civil(t.unit === 'DAY' ? BigInt(data[i] as number) : floorDiv(BigInt(data[i] as string), 86_400_000n)));
    case 'time': return each(i => time(BigInt(data[i] as string | number), PER[t.unit as string]));
    case 'timestamp': return each(i => timestamp(BigInt(data[i] as string), PER[t.unit as string], !!t.timezone));
    case 'duration': return each(i => iso(0n, 0n, BigInt(data[i] as string) * (1_000_000_000n / PER[t.unit as string])));
    case 'interval':
      if (t.unit === 'YEAR_MONTH') return each(i => iso(BigInt(data[i] as number), 0n, 0n));
      if (t.unit === 'DAY_TIME') return each(i => { const x = data[i] as { days: number; milliseconds: number }; return iso(0n, BigInt(x.days), BigInt(x.milliseconds) * 1_000_000n); });
      return each(i => { const x = data[i] as { months: number; days: number; nanoseconds: number | string }; return iso(BigInt(x.months), BigInt(x.days), BigInt(x.nanoseconds)); });
    case 'binaryview': case 'utf8view': {
      const bufs = (c.VARIADIC_DATA_BUFFERS ?? []).map(hex);
      return each(i => {
        const v = c.VIEWS![i];
        let bytes: Uint8Array;
        if (v.INLINED !== undefined) bytes = t.name === 'utf8view' ? new TextEncoder().encode(v.INLINED) : hex(v.INLINED);
        else bytes = bufs[v.BUFFER_INDEX!].slice(v.OFFSET!, v.OFFSET! + v.SIZE);
        return t.name === 'utf8view' ? new TextDecoder().decode(bytes) : bytes;
      });
    }
    case 'list': case 'largelist': {
      const items = ch(0);
      return each(i => items.slice(num(c.OFFSET![i]), num(c.OFFSET![i + 1])));
    }
    case 'listview': case 'largelistview': {
      const items = ch(0);
      return each(i => items.slice(num(c.OFFSET![i]), num(c.OFFSET![i]) + num(c.SIZE![i])));
    }
    case 'fixedsizelist': {
      const items = ch(0); const w = t.listSize as number;
      return each(i => items.slice(i * w, (i + 1) * w));
    }
    case 'map': {
      const entry = c.children![0];
      const ef = kids[0];
      const k = goldColumn(ef.children![0], entry.children![0], dicts);
      const v = goldColumn(ef.children![1], entry.children![1], dicts);
      return each(i => { const o: unknown[] = []; for (let j = num(c.OFFSET![i]); j < num(c.OFFSET![i + 1]); j++) o.push([k[j], v[j]]); return o; });
    }
    case 'struct': {
      const cols = kids.map((_k, j) => ch(j));
      const keys = keysOf(kids);
      return each(i => { const o: Record<string, unknown> = {}; keys.forEach((k, j) => { Object.defineProperty(o, k, { value: cols[j][i], enumerable: true, writable: true, configurable: true }); }); return o; });
    }
    case 'union': {
      const cols = kids.map((_k, j) => ch(j));
      const ids = (t.typeIds as number[] | undefined) ?? kids.map((_k, j) => j);
      return each(i => { const j = ids.indexOf(c.TYPE_ID![i]); return cols[j][t.mode === 'DENSE' ? num(c.OFFSET![i]) : i]; });
    }
    case 'runendencoded': {
      const ends = ch(0).map(Number); const vals = ch(1);
      for (let i = 0; i < n; i++) out.push(vals[ends.findIndex(e => e > i)]);
      return out;
    }
    default: throw new Error(`the gold has type ${t.name}, which this test does not convert`);
  }
}

function goldRows(g: Gold): unknown[][] {
  const fieldsById = new Map<number, JField>();
  const walk = (f: JField) => { if (f.dictionary) fieldsById.set(f.dictionary.id, f); (f.children ?? []).forEach(walk); };
  g.schema.fields.forEach(walk);
  const dicts: Dicts = new Map();
  for (const d of g.dictionaries ?? []) {
    const f = fieldsById.get(d.id)!;
    dicts.set(d.id, goldColumn({ ...f, dictionary: undefined }, d.data.columns[0], dicts));
  }
  const rows: unknown[][] = [];
  for (const b of g.batches) {
    const cols = g.schema.fields.map((f, j) => goldColumn(f, b.columns[j], dicts));
    for (let i = 0; i < b.count; i++) rows.push(cols.map(c => c[i]));
  }
  return rows;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || a === b;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b) && !(a instanceof Uint8Array) && !(b instanceof Uint8Array)) {
    const ka = Object.keys(a); const kb = Object.keys(b);
    return same(ka, kb) && ka.every(k => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `\\x${Buffer.from(x).toString('hex')}` : x))?.slice(0, 300) ?? String(v);

/** A whole read (or a head) of a file through ranged reads. */
async function readFile(p: string, nRows: number, columns?: string[]): ReturnType<typeof readArrowHead> {
  const fd = fs.openSync(p, 'r');
  try {
    const src: RangedSource = {
      byteLength: fs.fstatSync(fd).size,
      async read(a: number, e: number) { const b = Buffer.alloc(e - a); fs.readSync(fd, b, 0, e - a, a); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; },
    };
    return await readArrowHead(src, { nRows, columns });
  } finally { fs.closeSync(fd); }
}

function cases(): { version: string; name: string; dir: string }[] {
  const out: { version: string; name: string; dir: string }[] = [];
  for (const v of fs.readdirSync(GOLD, { withFileTypes: true }).filter(e => e.isDirectory()).map(e => e.name).sort()) {
    for (const f of fs.readdirSync(path.join(GOLD, v)).filter(x => x.endsWith('.json.gz')).sort()) out.push({ version: v, name: f.replace(/\.json\.gz$/, ''), dir: path.join(GOLD, v) });
  }
  return out;
}

test('Arrow IPC integration gold files: every case, file and stream, equal to the JSON gold cell by cell', { timeout: 300_000 }, async () => {
  const all = cases();
  assert.ok(all.length >= 91, `only ${all.length} gold cases under ${GOLD}`);
  let cells = 0; let forms = 0; let selected = 0;
  const refused: string[] = []; const problems: string[] = [];
  for (const c of all) {
    const key = `${c.version}/${c.name}`;
    // integers past 2^53 that the gold writes bare (month_day_nano's nanoseconds) are quoted first: JSON.parse
    // would round them to a double
    const text = zlib.gunzipSync(fs.readFileSync(path.join(c.dir, `${c.name}.json.gz`))).toString('utf8').replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
    const gold = JSON.parse(text) as Gold;
    let want: unknown[][];
    try { want = goldRows(gold); } catch (e) { problems.push(`${key}: the gold does not convert: ${(e as Error).message}`); continue; }
    for (const form of ['arrow_file', 'stream'] as const) {
      const p = path.join(c.dir, `${c.name}.${form}`);
      if (!fs.existsSync(p)) { problems.push(`${key}: no .${form}`); continue; }
      forms++;
      let head: Awaited<ReturnType<typeof readArrowHead>>;
      try {
        head = await readFile(p, 1e9);
      } catch (e) {
        const msg = (e as Error).message;
        if (RAW_JS.test(msg) || !(e instanceof ArrowFileError)) { problems.push(`${key}.${form}: raw JavaScript error: ${msg}`); continue; }
        const reason = REFUSED[key];
        if (reason && reason.test(msg)) refused.push(`${key}.${form}: ${msg}`);
        else problems.push(`${key}.${form}: refused${reason ? ` but not for ${reason}` : ' (not a listed refusal)'}: ${msg}`);
        continue;
      }
      if (REFUSED[key]) { problems.push(`${key}.${form}: read although listed as refused`); continue; }
      const diffs: string[] = [];
      const names = gold.schema.fields.map(f => f.name);
      if (!same(head.columns.map(x => x.name), names)) diffs.push(`columns ${show(head.columns.map(x => x.name))} vs ${show(names)}`);
      if (head.format !== (form === 'stream' ? 'stream' : 'file')) diffs.push(`read as ${head.format}`);
      if (head.rows.length !== want.length) diffs.push(`${head.rows.length} rows vs ${want.length}`);
      if (head.totalRows !== want.length) diffs.push(`total rows said ${head.totalRows} vs ${want.length}`);
      if (head.more) diffs.push('says more rows remain after reading them all');
      if (head.bytesRead > fs.statSync(p).size) diffs.push(`bytes read ${head.bytesRead} > file size`);
      for (let i = 0; i < Math.min(head.rows.length, want.length) && diffs.length < 8; i++) {
        for (let j = 0; j < names.length; j++) {
          cells++;
          if (!same(head.rows[i][j], want[i][j])) { diffs.push(`row ${i} ${names[j]} (${head.columns[j]?.type}): ours ${show(head.rows[i][j])} vs gold ${show(want[i][j])}`); if (diffs.length >= 8) break; }
        }
      }
      // a head of 2 rows (the early stop) must be the gold's first rows
      if (!diffs.length && want.length > 2) {
        const h = await readFile(p, 2);
        if (!same(h.rows, want.slice(0, 2))) diffs.push(`2-row head ${show(h.rows)} vs ${show(want.slice(0, 2))}`);
        if (!h.more) diffs.push('a 2-row head does not say more rows remain');
      }
      // one column alone (the last: its buffers come last in the body) reads only its part of each record batch
      const last = names.length - 1;
      if (!diffs.length && names.length > 1 && names.indexOf(names[last]) === last) {
        const one = await readFile(p, 1e9, [names[last]]);
        if (!same(one.rows, want.map(r => [r[last]]))) diffs.push(`column ${names[last]} alone: ${show(one.rows)} vs ${show(want.map(r => [r[last]]))}`);
        if (one.bytesRead > head.bytesRead) diffs.push(`column ${names[last]} alone read ${one.bytesRead} bytes, more than all columns (${head.bytesRead})`);
        selected += one.bytesRead < head.bytesRead ? 1 : 0;
      }
      if (diffs.length) problems.push(`${key}.${form}:\n    ${diffs.join('\n    ')}`);
    }
  }
  for (const k of Object.keys(REFUSED)) if (!all.some(c => `${c.version}/${c.name}` === k)) problems.push(`${k}: listed as refused but not in the corpus`);
  console.log(`[TZ=${process.env.TZ ?? ''}] ${all.length} cases, ${forms} files read (file and stream forms), ${cells} cells compared, ${refused.length} refused with a listed reason, ${problems.length} problems; a one-column read took fewer bytes in ${selected} files`);
  assert.ok(selected > 50, `a one-column read took fewer bytes than a whole read in only ${selected} files`);
  for (const x of refused) console.log(`  refused: ${x}`);
  for (const x of problems) console.log(`  DIFFERENCE: ${x.split('\n').map(l => l.slice(0, 500)).join('\n')}`);
  assert.deepEqual(problems, [], `${problems.length} gold files differ or fail badly`);
});

test('through read_parquet: a big-endian file reads right, a column selection, an unknown column and a corrupt file are sentences', { skip: IN_TZ_CHILD ? 'inside a TZ child run' : false }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-arrowc-'));
  const host = new ToolHost(resolveConfig({ allowedPaths: [GOLD, dir], auditLogPath: path.join(dir, 'audit.jsonl') }));
  try {
    const f = path.join(GOLD, '1.0.0-bigendian', 'generated_primitive.arrow_file');
    const r = await host.call('read_parquet', { file_path: f, n_rows: 2, columns: ['int16_nonnullable', 'int64_nonnullable'] }, { caller: 'test' });
    assert.ok(!r.isError, r.text);
    const part = r.parts.find(p => p.kind === 'table') as TablePart;
    assert.deepEqual(part.columns, [{ name: 'int16_nonnullable', type: 'int16' }, { name: 'int64_nonnullable', type: 'int64' }]);
    assert.deepEqual(part.rows, [[-32768, -2147483648n], [32767, 2147483647n]]);
    assert.match(r.text, /Arrow IPC file, 2 record batches/);
    const u = await host.call('read_parquet', { file_path: f, columns: ['nope'] }, { caller: 'test' });
    assert.equal(u.isError, true);
    assert.match(u.text, /unknown column nope/);
    const bad = path.join(dir, 'cut.arrow');
    const whole = fs.readFileSync(path.join(GOLD, '2.0.0-compression', 'generated_zstd.arrow_file'));
    // the footer kept, a record batch's body overwritten
    const b = Buffer.from(whole); b.fill(0xff, 200, Math.min(b.length - 400, 600)); fs.writeFileSync(bad, b);
    const c = await host.call('read_parquet', { file_path: bad }, { caller: 'test' });
    assert.equal(c.isError, true, c.text);
    assert.match(c.text, /^Could not read .*cut\.arrow as Arrow IPC: .*\.$/s);
    assert.doesNotMatch(c.text, RAW_JS);
  } finally { await host.dispose(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('corrupt copies of the gold files are read or refused in a sentence, quickly', { timeout: 120_000, skip: IN_TZ_CHILD ? 'inside a TZ child run' : false }, async () => {
  const files = cases().flatMap(c => ['arrow_file', 'stream'].map(f => path.join(c.dir, `${c.name}.${f}`)));
  let seed = 20261207;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
  const problems: string[] = []; let read = 0; let refused = 0;
  for (let k = 0; k < 400; k++) {
    const p = files[Math.floor(rnd() * files.length)];
    const b = Buffer.from(fs.readFileSync(p));
    const flips = 1 + Math.floor(rnd() * 4);
    for (let j = 0; j < flips; j++) { const at = Math.floor(rnd() * b.length); b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[at] ^ (1 << Math.floor(rnd() * 8)); }
    const src: RangedSource = { byteLength: b.length, read: async (s, e) => b.buffer.slice(b.byteOffset + s, b.byteOffset + e) as ArrayBuffer };
    const t0 = Date.now();
    try { await readArrowHead(src, { nRows: 1e9 }); read++; } catch (e) {
      refused++;
      if (!(e instanceof ArrowFileError) || RAW_JS.test((e as Error).message)) problems.push(`copy ${k} of ${path.basename(p)}: ${(e as Error).message}`);
    }
    if (Date.now() - t0 > 3000) problems.push(`copy ${k} of ${path.basename(p)} took ${Date.now() - t0} ms`);
  }
  console.log(`400 corrupt copies: ${read} read, ${refused} refused`);
  assert.deepEqual(problems, []);
});

test('values do not depend on the host time zone', { timeout: 300_000, skip: IN_TZ_CHILD ? 'inside a TZ child run' : false }, () => {
  runTestFileUnderZones(__filename, printsZoneSummary);
});
