// Issue 15: a result over the store's memory budget is spilled to an Arrow IPC file. Every value of the value model
// must read back identical (bigint vs number, -0, NaN, Uint8Array, nested values, undefined), the file must be a
// real Arrow file (apache-arrow and arrow-rs read it; DuckDB compares the typed columns through Parquet), every
// request (page, sort, filter, search, describe, scan) must give the same answer spilled as in memory, and a result
// that is still streaming in must spill while it grows and page correctly before and after it is finished.
// Rows come from a real PostgreSQL query over many types, from parquet-testing files read by read_parquet, and from
// hand-made edge values. The PostgreSQL-free tests run again under TZ=Asia/Tokyo and TZ=America/New_York.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IN_TZ_CHILD, runTestFileUnderZones } from '../helpers/tz';
import { tmpDir } from '../helpers/mcp';
import { corpus } from '../helpers/corpora';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { configFromEnv, resolveConfig } from '../../src/core/config';
import { ToolHost } from '../../src/core/host';
import { runQuery } from '../../src/core/db/service';
import type { ColumnInfo, TablePart } from '../../src/core/result';
import { ResultStore, chunkBytes, rowBytes, type PageRequest } from '../../src/core/store';

const CHILD = IN_TZ_CHILD;
const needsPg = { skip: CHILD ? 'inside the TZ child run (PostgreSQL and the corpus run in the parent)' : false };
/** Tests whose logic does not touch the host's zone (the value conversions run in the child too). */
const parentOnly = { skip: CHILD ? 'inside the TZ child run (no conversion of dates or times of its own)' : false };

type Cols = ColumnInfo[];
const table = (columns: Cols, rows: unknown[][]): TablePart => ({ kind: 'table', columns, rows, truncated: false });
const col = (name: string, type: string): ColumnInfo => ({ name, type });
/** The spill's chunk size under the tiny budgets used here. */
const CHUNK = chunkBytes(1);

function store(memoryBytes: number, dir = tmpDir('spill')): ResultStore {
  return new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes, diskBytes: 1e10, idleSeconds: 3600 }) });
}

async function allRows(s: ResultStore, id: string): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const c of s.scan(id)) out.push(...c);
  return out;
}

/** The stored Arrow file of a result, read by apache-arrow as a whole. */
async function arrowTable(s: ResultStore, id: string) {
  const A = await import('apache-arrow');
  const file = s.spillPath(id);
  assert.ok(file && fs.existsSync(file), `result ${id} has a spill file`);
  assert.match(path.basename(file), /\.arrow$/);
  const t = A.tableFromIPC(fs.readFileSync(file));
  const reader = A.RecordBatchReader.from(fs.readFileSync(file));
  assert.ok(reader.isFile(), 'the Arrow IPC file format (with a footer), not only a stream');
  return { A, t, fields: t.schema.fields.map(f => ({ name: f.name, type: String(f.type), enc: f.metadata.get('datatools:encoding'), orig: f.metadata.get('datatools:name') })) };
}

/** The stream part of an Arrow IPC file (between the 8-byte magic and the footer), for readers of streams only. */
function streamPart(bytes: Buffer): Buffer {
  assert.equal(bytes.subarray(0, 6).toString(), 'ARROW1');
  assert.equal(bytes.subarray(bytes.length - 6).toString(), 'ARROW1');
  const footerLen = bytes.readInt32LE(bytes.length - 10);
  return bytes.subarray(8, bytes.length - 10 - footerLen);
}

// ---- hand-made edge values ------------------------------------------------------------------------------------

const EDGE_COLS: Cols = [
  col('flag', 'bool'), col('i4', 'int4'), col('i8', 'int8'), col('huge', 'int8'), col('u64', 'uint64'), col('f4', 'float4'),
  col('f8', 'float8'), col('dec', 'numeric'), col('d', 'date'), col('d_special', 'date'), col('tm', 'time'), col('tmz', 'timetz'),
  col('ts_us', 'timestamp'), col('ts_ns', 'timestamp[ns]'), col('ts_wide', 'timestamp'), col('tsz', 'timestamptz'), col('iv', 'interval'),
  col('js', 'jsonb'), col('bin', 'bytea'), col('buf', 'bytea'), col('id', 'uuid'), col('txt', 'text'), col('lone', 'text'),
  col('arr', 'int4[]'), col('comp', 'record'), col('mixed', 'jsonb'), col('undef', 'text'), col('nums_in_text', 'text'), col('', 'text'), col('', 'text'),
];
/** The Arrow type and encoding each edge column must get (the best exact one). */
const EDGE_TYPES: Record<string, [string, string]> = {
  flag: ['Bool', 'bool'], i4: ['Int32', 'int32'], i8: ['Int64', 'int64'], huge: ['Utf8', 'bigint'], u64: ['Uint64', 'uint64'],
  f4: ['Float32', 'float32'], f8: ['Float64', 'float64'], dec: ['Utf8', 'utf8'], d: ['Date32<DAY>', 'date32'], d_special: ['Utf8', 'utf8'],
  tm: ['Utf8', 'utf8'], tmz: ['Utf8', 'utf8'], ts_us: ['Timestamp<MICROSECOND>', 'timestamp[us]'], ts_ns: ['Timestamp<NANOSECOND>', 'timestamp[ns]'],
  ts_wide: ['Utf8', 'utf8'], tsz: ['Timestamp<MICROSECOND, UTC>', 'timestamp[us, UTC]'], iv: ['Utf8', 'utf8'], js: ['Utf8', 'utf8'],
  bin: ['Binary', 'binary'], buf: ['Binary', 'v8'], id: ['Utf8', 'utf8'], txt: ['Utf8', 'utf8'], lone: ['Binary', 'v8'], arr: ['Binary', 'v8'],
  comp: ['Binary', 'v8'], mixed: ['Binary', 'v8'], undef: ['Binary', 'v8'], nums_in_text: ['Float64', 'float64'],
};
function edgeRows(): unknown[][] {
  const base: unknown[][] = [
    [true, 0, 1n << 62n, 1n << 70n, (1n << 64n) - 1n, Math.fround(0.1), 0.1, '-123.450', '2020-01-01', 'infinity', '24:00:00', '12:00:00+05:30',
      '2020-01-01T00:00:00', '2262-04-11T23:47:16.854775807', '0001-01-01T00:00:00.123456789', '2020-01-01T00:00:00Z', 'P1Y2M3DT4H5M6.5S',
      '{"a": 1e400, "a": 2}', new Uint8Array([0, 255, 10]), Buffer.from([1, 2]), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'z\u{1F600}', 'a\uD800b',
      [1, [2n, null], { a: 'x' }], { x: 1, y: 'a', z: null, n: { deep: [new Uint8Array([7])] } }, 1, undefined, 1.5, 'same name', 'empty name'],
    [false, -2147483648, -(1n << 63n), -(1n << 100n), 0n, -0, -0, '1.5', '-0044-03-15', '2000-01-01 BC', '12:34:56.123456', '00:00:00-12:00',
      '1677-09-21T00:12:43.145224', '1677-09-21T00:12:43.145224193', '9999-12-31T23:59:59.999999', '1969-12-31T23:59:59.999999Z', 'PT0S',
      '[]', new Uint8Array([]), null, null, '', 'b\uDC00', [], {}, 'x', null, Number.NaN, '', null],
    [null, 2147483647, (1n << 63n) - 1n, 0n, 1n, Number.NaN, Number.NaN, '1.50', '0000-01-01', '-infinity', null, null,
      '0001-01-01T00:00:00', null, '2020-01-01T00:00:00', '0001-01-01T00:00:00Z', '-P1D', 'null', null, Buffer.from([]), null, 'line\nbreak\u0000nul',
      null, null, null, 2n, 1, -0, null, ''],
    [null, null, null, null, null, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 'NaN', '9999-12-31', '2020-01-01', null, null,
      '9999-12-31T23:59:59.999999', '1970-01-01T00:00:00.000000001', null, null, null, null, null, null, null, null, null, [null], null, true, 'u', null, null, null],
    [true, 7, 5n, 3n, 2n, 1.5, Number.MIN_VALUE, '0.000000000000000000001', '1970-01-01', '1970-01-01', '23:59:59', '23:59:59+14:00',
      '1970-01-01T00:00:00.5', '2000-01-01T00:00:00', '2000-01-01T00:00:00', '2262-04-11T23:47:16.854775Z', 'P-1Y', '{"big": 123456789012345678901234567890}',
      new Uint8Array(300).fill(9), Buffer.from('xyz'), '00000000-0000-0000-0000-000000000000', 'x'.repeat(2000), 'ok', [[1, 2], [3, 4]], { a: [1n] }, new Uint8Array([1]), null, Number.MAX_VALUE, 'a', 'b'],
  ];
  for (const b of base) assert.equal(b.length, EDGE_COLS.length);
  // enough rows for several chunks (CHUNK bytes each under a tiny budget); the edge rows recur among ordinary ones
  const rows: unknown[][] = [];
  for (let i = 0; i < 2000; i++) {
    const b = base[i % base.length];
    rows.push(i % 7 === 0 ? b : b.map((v, j) => (j === 1 && typeof v === 'number' ? (v + i) | 0 : j === 21 && typeof v === 'string' ? `${v}${i}` : v)));
  }
  return rows;
}

/** deepStrictEqual, plus what it does not see: -0 against 0 (Object.is), and a Buffer against a Uint8Array. */
function assertIdentical(actual: unknown[][], expected: unknown[][], what: string): void {
  assert.deepStrictEqual(actual, expected, what);
  const walk = (a: unknown, e: unknown, at: string): void => {
    if (typeof e === 'number') assert.ok(Object.is(a, e), `${what} ${at}: ${String(a)} vs ${String(e)}`);
    else if (e instanceof Uint8Array) assert.equal(Object.getPrototypeOf(a), Object.getPrototypeOf(e), `${what} ${at}: ${(a as object)?.constructor?.name} vs ${e.constructor.name}`);
    else if (Array.isArray(e)) e.forEach((x, i) => walk((a as unknown[])[i], x, `${at}[${i}]`));
    else if (e && typeof e === 'object') for (const [k, x] of Object.entries(e)) walk((a as Record<string, unknown>)[k], x, `${at}.${k}`);
  };
  expected.forEach((r, i) => walk(actual[i], r, `row ${i}`));
}

test('hand-made edge values of every kind read back identical from the spill file; each column gets the best exact Arrow type', async () => {
  const rows = edgeRows();
  const s = store(0);
  try {
    const info = await s.put('t', table(EDGE_COLS, rows));
    assert.equal(info.where, 'disk');
    assertIdentical(await allRows(s, info.id), rows, 'scan');
    const p = await s.page(info.id, { offset: 1234, limit: 777 });
    assertIdentical(p.rows, rows.slice(1234, 2011), 'a window across chunks');
    const { t, fields } = await arrowTable(s, info.id);
    assert.equal(t.numRows, rows.length);
    assert.ok(t.batches.length > 3, `several record batches (${t.batches.length})`);
    for (const [i, c] of EDGE_COLS.entries()) {
      if (!c.name) continue;
      assert.deepEqual([fields[i].type, fields[i].enc], EDGE_TYPES[c.name], `column ${c.name}`);
    }
    // empty and duplicate names get distinct Arrow field names; the original name is in the field's metadata
    assert.deepEqual(fields.slice(-2).map(f => [f.name, f.orig]), [['column_29', ''], ['column_30', '']]);
    // apache-arrow's own reading of the typed columns (written independently of the store's reader)
    const at = (name: string) => t.getChildAt(EDGE_COLS.findIndex(c => c.name === name))!;
    assert.equal(at('i8').get(0), 1n << 62n);
    assert.equal(at('u64').get(0), (1n << 64n) - 1n);
    assert.ok(Object.is(at('f8').get(1), -0));
    assert.ok(Number.isNaN(at('f4').get(2)));
    assert.equal(at('d').get(0), Date.UTC(2020, 0, 1));
    assert.equal(at('ts_us').get(0), Date.UTC(2020, 0, 1));
    assert.equal(at('dec').get(4), '0.000000000000000000001');
    assert.deepEqual([...at('bin').get(0) as Uint8Array], [0, 255, 10]);
  } finally { await s.dispose(); }
});

test('rows of another length than the column list keep their length and cells', async () => {
  const cols = [col('a', 'int4'), col('b', 'text')];
  const rows = [[1, 'x'], [2], [3, 'y', 'extra', 4n], [], [5, null]];
  const s = store(0);
  try {
    const info = await s.put('t', table(cols, rows));
    assertIdentical((await s.page(info.id, { limit: 10 })).rows, rows, 'ragged rows');
    const { fields } = await arrowTable(s, info.id);
    assert.deepEqual(fields.map(f => f.type), ['Int32', 'Utf8', 'Binary'], 'a and b keep their types; the row shapes are an extra field');
  } finally { await s.dispose(); }
});

test('arrow-rs (parquet-wasm) reads the spill file, and DuckDB sees the same typed values through Parquet', parentOnly, async () => {
  const rows = edgeRows();
  const s = store(0);
  try {
    const info = await s.put('t', table(EDGE_COLS, rows));
    const pw = await import('parquet-wasm');
    // arrow-rs validates the IPC messages (offsets, UTF-8 of Utf8 columns) as it reads them
    const wasmTable = pw.Table.fromIPCStream(streamPart(fs.readFileSync(s.spillPath(info.id)!)));
    assert.equal(wasmTable.numBatches > 3, true);
    const pq = pw.writeParquet(wasmTable);
    const file = path.join(tmpDir('spill-pq'), 'spill.parquet');
    fs.writeFileSync(file, pq);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const q = await con.runAndReadAll(`SELECT i4, i8::VARCHAR, u64::VARCHAR, f8::VARCHAR, dec, (d - DATE '1970-01-01')::VARCHAR, epoch_us(ts_us)::VARCHAR,
      epoch_us(tsz)::VARCHAR, huge, hex(bin) FROM read_parquet('${file}')`);
    const got = q.getRows();
    assert.equal(got.length, rows.length);
    const ix = (n: string) => EDGE_COLS.findIndex(c => c.name === n);
    // days and epoch microseconds of the value-model text, through Date (not through the store's own conversion)
    const dayOf = (v: unknown) => {
      if (v === null) return null;
      const m = /^(-?\d+)-(\d\d)-(\d\d)/.exec(String(v))!;
      const d = new Date(0);
      d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      return d;
    };
    const days = (v: unknown) => v === null ? null : String(Math.round(dayOf(v)!.getTime() / 86_400_000));
    const micro = (v: unknown) => {
      if (v === null) return null;
      const m = /T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?$/.exec(String(v))!;
      const d = dayOf(v)!;
      d.setUTCHours(Number(m[1]), Number(m[2]), Number(m[3]));
      return String(BigInt(d.getTime()) * 1000n + BigInt((m[4] ?? '').padEnd(6, '0')));
    };
    for (let r = 0; r < rows.length; r += 1) {
      const want = [rows[r][ix('i4')], rows[r][ix('i8')] === null ? null : String(rows[r][ix('i8')]), rows[r][ix('u64')] === null ? null : String(rows[r][ix('u64')]),
        rows[r][ix('f8')], rows[r][ix('dec')], days(rows[r][ix('d')]), micro(rows[r][ix('ts_us')]), micro(rows[r][ix('tsz')]),
        rows[r][ix('huge')] === null ? null : String(rows[r][ix('huge')]), rows[r][ix('bin')] === null ? null : Buffer.from(rows[r][ix('bin')] as Uint8Array).toString('hex').toUpperCase()];
      const g: unknown[] = [...got[r]];
      // DuckDB prints floats its own way: compare those as numbers (NaN and -0 as such)
      const f = g[3] === null ? null : Number(String(g[3]).replace(/^-?inf$/i, m => m.startsWith('-') ? '-Infinity' : 'Infinity').replace(/^nan$/i, 'NaN'));
      assert.ok(Object.is(f, want[3]) || (f !== null && Number.isNaN(f) && Number.isNaN(want[3] as number)), `row ${r} f8: ${g[3]} vs ${want[3]}`);
      g[3] = want[3];
      assert.deepStrictEqual(g, want, `row ${r}`);
    }
  } finally { await s.dispose(); }
});

// ---- the same requests in memory and spilled ------------------------------------------------------------------

/** Every kind of request, answered by a store holding the rows in memory and by one holding them on disk. */
async function sameAnswers(columns: Cols, rows: unknown[][], what: string): Promise<void> {
  const mem = store(1e12), disk = store(0);
  try {
    const a = await mem.put('t', table(columns, rows));
    const b = await disk.put('t', table(columns, rows));
    assert.equal(a.where, 'memory');
    assert.equal(b.where, 'disk');
    assertIdentical(await allRows(disk, b.id), rows, `${what}: all rows`);
    const named = columns.map(c => c.name).filter((n, i, all) => n && all.indexOf(n) === i);
    const reqs: PageRequest[] = [{ offset: 0, limit: 50 }, { offset: Math.floor(rows.length / 2), limit: 1000 }, { offset: rows.length - 3, limit: 10 }];
    for (const [k, name] of named.entries()) {
      reqs.push({ orderBy: [{ column: name }], offset: 0, limit: 30 });
      if (k % 3 === 0) reqs.push({ orderBy: [{ column: name, desc: true }], offset: 7, limit: 30, columns: [name] }, { where: [{ column: name, op: 'not_null' }], offset: 3, limit: 20 });
    }
    reqs.push({ search: '1', offset: 0, limit: 40 }, { search: 'a', orderBy: [{ column: named[0], desc: true }], offset: 2, limit: 40 });
    for (const req of reqs) {
      const x = await mem.page(a.id, req), y = await disk.page(b.id, req);
      assertIdentical(y.rows, x.rows, `${what}: page ${JSON.stringify(req)}`);
      assert.deepEqual([y.matched, y.total, y.columns], [x.matched, x.total, x.columns], `${what}: page ${JSON.stringify(req)}`);
    }
    const dx = await mem.describe(a.id), dy = await disk.describe(b.id);
    assert.deepStrictEqual(dy, dx, `${what}: describe`);
    for (const req of [{ search: '2' }, { where: [{ column: named[0], op: 'not_null' as const }], orderBy: [{ column: named[named.length - 1] }] }]) {
      const sx: unknown[][] = [], sy: unknown[][] = [];
      for await (const c of mem.scan(a.id, req)) sx.push(...c);
      for await (const c of disk.scan(b.id, req)) sy.push(...c);
      assertIdentical(sy, sx, `${what}: scan ${JSON.stringify(req)}`);
    }
  } finally { await mem.dispose(); await disk.dispose(); }
}

test('page, sort, filter, search, describe and scan over spilled hand-made edge values equal the in-memory answers', parentOnly, async () => {
  await sameAnswers(EDGE_COLS, edgeRows(), 'edge values');
});

// ---- a real PostgreSQL query over many types ------------------------------------------------------------------

let pg: PgCluster | undefined;
let url = '';
before(async () => {
  if (CHILD) return;
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE spill');
  url = pg.adminUrl.replace(/\/postgres$/, '/spill');
  psql(url, `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TYPE pair AS (a int, b text)`);
});
after(() => pg?.stop());

const PG_QUERY = `SELECT g AS id, (g % 2 = 0) AS flag, (g % 30000 - 15000)::int2 AS i2, (g * 7919)::int4 AS i4,
  CASE WHEN g % 19 = 0 THEN NULL ELSE (g::int8 * 1000000007 * 1000003) * (CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END) END AS i8,
  CASE WHEN g % 11 = 0 THEN NULL WHEN g % 97 = 0 THEN 'NaN'::numeric ELSE round((g * 37 % 20000 - 10000)::numeric / 1000, g % 5) END AS dec,
  (g % 1000)::numeric(12,4) / 7 AS dec_typed,
  CASE WHEN g % 13 = 0 THEN NULL WHEN g % 101 = 0 THEN 'NaN'::float8 WHEN g % 103 = 0 THEN '-Infinity'::float8 WHEN g % 107 = 0 THEN '-0'::float8 ELSE g / 7.0::float8 END AS f8,
  (g / 3.0)::float4 AS f4,
  CASE WHEN g % 17 = 0 THEN NULL WHEN g % 211 = 0 THEN 'infinity'::date WHEN g % 223 = 0 THEN '0044-03-15 BC'::date ELSE date '1990-01-01' + g END AS d,
  time '00:00:00' + g * interval '1.000001 second' AS tm, timetz '12:00:00+05:30' + g * interval '1 minute' AS tmz,
  timestamp '1999-12-31 23:59:59.123456' + g * interval '1 hour 1.5 second' AS ts,
  timestamptz '2020-01-01 00:00:00+09' + g * interval '17 minutes' AS tstz,
  CASE WHEN g % 229 = 0 THEN '-infinity'::timestamptz ELSE timestamptz '2020-01-01 00:00:00+09' + g * interval '17 minutes' END AS tstz_inf,
  make_interval(0, g % 14, 0, g % 40, 0, 0, g / 10.0) AS iv,
  ('{"n": 12345678901234567890' || g || ', "g": ' || g || ', "g": "dup"}')::json AS js, ('{"k": [' || g || ', null]}')::jsonb AS jsb,
  CASE WHEN g % 23 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0'), 'hex') END AS bin,
  md5(g::text)::uuid AS u, (ARRAY['sad','ok','happy'])[g % 3 + 1]::mood AS m,
  CASE WHEN g % 29 = 0 THEN NULL ELSE 'text ' || g || ' ' || chr(128512 + g % 50) END AS txt,
  ARRAY[g, NULL, g + 1] AS arr, ARRAY[[g::text, 'x'], ['y', NULL]] AS arr2, ROW(g, 'b' || g)::pair AS comp, ARRAY[(g / 3.0)::numeric(10,2)] AS num_arr
FROM generate_series(1, 3000) g`;

async function pgRows(): Promise<{ columns: Cols; rows: unknown[][] }> {
  const dir = tmpDir('spill-pg');
  const h = new ToolHost(configFromEnv({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'),
    DATABASE_URL: url, DATATOOLS_MAX_ROWS: '100000' }));
  try {
    const out = await runQuery(h.context(), { query: PG_QUERY, maxRows: 100_000, timeoutSec: 60 });
    assert.equal(out.rows.length, 3000);
    return { columns: out.columns, rows: out.rows };
  } finally { await h.dispose(); }
}

test('a real PostgreSQL result over many types: spilled exactly, with Arrow types from the column types, and every request equal to memory', needsPg, async () => {
  const { columns, rows } = await pgRows();
  const s = store(0);
  try {
    const info = await s.put('execute_query', table(columns, rows));
    assertIdentical(await allRows(s, info.id), rows, 'PostgreSQL rows');
    const { fields } = await arrowTable(s, info.id);
    const typeOf = Object.fromEntries(fields.map(f => [f.name, `${f.type} ${f.enc}`]));
    // the value kinds that have an exact Arrow type get it; values Arrow types cannot hold (infinity dates and
    // timestamps, BC years, arrays) keep their text or are v8-serialized. float4 arrives as the double nearest its
    // text ("0.33333334"), which is not a float32 value, so Float64 holds it exactly; a composite arrives as its text
    assert.deepEqual(
      ['flag', 'i2', 'i4', 'i8', 'f4', 'f8', 'd', 'ts', 'tstz', 'tstz_inf', 'bin', 'dec', 'dec_typed', 'js', 'jsb', 'iv', 'u', 'm', 'txt', 'arr', 'arr2', 'comp', 'num_arr'].map(n => `${n}: ${typeOf[n]}`),
      ['flag: Bool bool', 'i2: Int32 int32', 'i4: Int32 int32', 'i8: Int64 int64', 'f4: Float64 float64', 'f8: Float64 float64', 'd: Utf8 utf8',
        'ts: Timestamp<MICROSECOND> timestamp[us]', 'tstz: Timestamp<MICROSECOND, UTC> timestamp[us, UTC]', 'tstz_inf: Utf8 utf8', 'bin: Binary binary',
        'dec: Utf8 utf8', 'dec_typed: Utf8 utf8', 'js: Utf8 utf8', 'jsb: Utf8 utf8', 'iv: Utf8 utf8', 'u: Utf8 utf8', 'm: Utf8 utf8', 'txt: Utf8 utf8',
        'arr: Binary v8', 'arr2: Binary v8', 'comp: Utf8 utf8', 'num_arr: Binary v8']);
  } finally { await s.dispose(); }
  await sameAnswers(columns, rows, 'PostgreSQL');
});

// ---- parquet-testing files through read_parquet ---------------------------------------------------------------

const PARQUET_FILES = ['alltypes_plain.parquet', 'alltypes_tiny_pages.parquet', 'nested_lists.snappy.parquet', 'nested_maps.snappy.parquet', 'nested_structs.rust.parquet',
  'int96_from_spark.parquet', 'fixed_length_decimal.parquet', 'byte_array_decimal.parquet', 'float16_nonzeros_and_nans.parquet', 'list_columns.parquet',
  'nulls.snappy.parquet', 'binary.parquet', 'datapage_v2.snappy.parquet', 'null_list.parquet', 'nonnullable.impala.parquet', 'delta_byte_array.parquet'];

test('parquet-testing files read by read_parquet spill exactly and answer every request as in memory', needsPg, async () => {
  const data = path.join(corpus('parquet-testing'), 'data');
  const dir = tmpDir('spill-parquet');
  const h = new ToolHost(resolveConfig({ allowedPaths: [data], auditLogPath: path.join(dir, 'audit.jsonl'), limits: { maxFileBytes: 1 << 30, maxRows: 1_000_000 } }));
  try {
    for (const f of PARQUET_FILES) {
      const r = await h.call('read_parquet', { file_path: path.join(data, f), n_rows: 100_000 }, { caller: 'test' });
      assert.notEqual(r.isError, true, `${f}: ${r.text}`);
      const part = r.parts.find(p => p.kind === 'table') as TablePart;
      assert.ok(part.rows.length > 0, f);
      await sameAnswers(part.columns, part.rows, f);
    }
  } finally { await h.dispose(); }
});

// ---- a result that is still streaming in ----------------------------------------------------------------------

/** Waits (up to 20 s) until `ok()` holds, letting the store's background spill run. */
async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise(r => setTimeout(r, 5));
  }
}

test('a streamed result under a tiny memory budget spills while it grows; the rows so far page exactly before and after finish', async () => {
  const rows = edgeRows().concat(edgeRows(), edgeRows()); // 6,000 rows, about 4 MB counted
  const s = store(1);
  const totalBytes = rows.reduce((n, r) => n + rowBytes(r), 0);
  try {
    const info = s.open('execute_query', EDGE_COLS);
    let sawDisk = false;
    let maxMem = 0;
    let maxBatch = 0;
    for (let at = 0, step = 0; at < rows.length; step++) {
      const batch = rows.slice(at, at + [1, 250, 999, 37][step % 4]);
      maxBatch = Math.max(maxBatch, batch.reduce((n, r) => n + rowBytes(r), 0));
      // as the host does: the next rows come when the store's back-pressure lets them
      await s.append(info.id, batch);
      at += batch.length;
      maxMem = Math.max(maxMem, s.usage().memoryBytes);
      if (step % 5 === 0) {
        // a window over the rows so far (some on disk, some in memory), and one past the end
        const off = Math.max(0, at - 700 - (step % 300));
        const p = await s.page(info.id, { offset: off, limit: 800 });
        assertIdentical(p.rows, rows.slice(off, Math.min(at, off + 800)), `while growing, at ${at} rows, window at ${off}`);
        assert.equal(p.total, at);
        const i = await s.info(info.id);
        assert.equal(i.loading, true);
        if (i.where === 'disk') sawDisk = true;
      }
      if (step % 8 === 7) {
        // the spill keeps up: what stays in memory is less than one chunk (CHUNK bytes at this budget) and a row
        await s.flushed(info.id);
        assert.ok(s.usage().memoryBytes < CHUNK + 12_000, `${s.usage().memoryBytes} bytes in memory`);
        assert.equal((await s.info(info.id)).where, 'disk');
        // the file on disk is a whole Arrow IPC file after every spilled chunk: its rows are the first rows
        const { t } = await arrowTable(s, info.id);
        assert.ok(t.numRows > 0 && t.numRows <= at, `${t.numRows} rows in the file of ${at}`);
      }
    }
    assert.ok(sawDisk, 'the result was on disk while it was still loading');
    // memory stays bounded: about two chunks (CHUNK bytes each at this budget) plus the batch that just arrived
    assert.ok(maxMem < 3 * CHUNK + maxBatch && maxMem < totalBytes / 3, `at most ${maxMem} bytes in memory (${totalBytes} bytes in all, batches up to ${maxBatch})`);
    await s.flushed(info.id);
    assert.ok(s.usage().memoryBytes < CHUNK + 12_000, `${s.usage().memoryBytes} bytes in memory`);
    assertIdentical((await s.page(info.id, { offset: 0, limit: rows.length })).rows, rows, 'all rows before finish');
    const streamedFile = s.spillPath(info.id)!;
    const written = fs.statSync(streamedFile).size;
    const done = await s.finish(info.id, { ...table(EDGE_COLS, rows), title: 'the query', truncated: true, totalRows: 7000 }, 'execute_query');
    assert.equal(done.id, info.id);
    assert.equal(done.where, 'disk');
    assert.equal(done.loading, undefined);
    assert.equal(done.rows, rows.length);
    // the part's title and totals; the rows streamed in are kept, not written again: the same file, as it was
    assert.equal(done.title, 'the query');
    assert.equal(done.sourceTruncated, true);
    assert.equal(done.sourceTotalRows, 7000);
    assert.equal(s.spillPath(info.id), streamedFile);
    assert.equal(fs.statSync(streamedFile).size, written);
    assertIdentical(await allRows(s, info.id), rows, 'all rows after finish');
    // past the memory budget, the rows left in memory move to disk in the background: then the file holds them all
    await s.settledMemory();
    assert.equal(s.usage().memoryBytes, 0);
    assert.equal(s.spillPath(info.id), streamedFile);
    assertIdentical(await allRows(s, info.id), rows, 'all rows, wholly on disk');
    const p = await s.page(info.id, { offset: 4321, limit: 5, orderBy: [{ column: 'i4', desc: true }], columns: ['i4', 'txt'] });
    assert.equal(p.rows.length, 5);
    const { t } = await arrowTable(s, info.id);
    assert.equal(t.numRows, rows.length);
    assert.equal(s.usage().results, 1);
  } finally { await s.dispose(); }
});

test('finish keeps streamed rows that are the final rows (in memory when they fit); other final rows replace them', async () => {
  const rows = edgeRows();
  const big = store(1e9);
  try {
    // within the budget: kept in memory, nothing written
    const a = big.open('execute_query', EDGE_COLS);
    for (let i = 0; i < rows.length; i += 300) await big.append(a.id, rows.slice(i, i + 300));
    const done = await big.finish(a.id, table(EDGE_COLS, rows), 'execute_query');
    assert.equal(done.where, 'memory');
    assert.equal(done.rows, rows.length);
    assert.equal(big.spillPath(a.id), undefined);
    assertIdentical(await allRows(big, a.id), rows, 'kept in memory');
    // a final table with other rows than were streamed (a source that stopped streaming early): the final rows win
    const b = big.open('execute_query', EDGE_COLS);
    await big.append(b.id, rows.slice(0, 10));
    const other = await big.finish(b.id, table(EDGE_COLS, rows.slice(0, 25)), 'execute_query');
    assert.equal(other.id, b.id);
    assert.equal(other.rows, 25);
    assertIdentical(await allRows(big, b.id), rows.slice(0, 25), 'the final rows');
    // and columns that differ (the types named otherwise at the end): the final table again
    const c = big.open('execute_query', EDGE_COLS);
    await big.append(c.id, rows.slice(0, 5));
    const renamed = EDGE_COLS.map((x, i) => (i === 0 ? { ...x, type: 'oid 23' } : x));
    assert.equal((await big.finish(c.id, table(renamed, rows.slice(0, 5)), 'execute_query')).columns[0].type, 'oid 23');
    assert.equal((await big.info(c.id)).columns[0].type, 'oid 23');
  } finally { await big.dispose(); }
  // past the budget at finish (a small streamed result, less than a chunk, never spilled while it grew): the older
  // result in memory moves to disk, in the background, and both stay exact
  const rowsBytes = rows.reduce((n, r) => n + rowBytes(r), 0);
  const few = rows.slice(0, 100);
  const fewBytes = few.reduce((n, r) => n + rowBytes(r), 0);
  const budget = rowsBytes + Math.round(fewBytes / 2);
  assert.ok(fewBytes < chunkBytes(budget), 'the streamed rows are less than a chunk');
  const mid = store(budget);
  try {
    const old = await mid.put('read_csv', table(EDGE_COLS, rows));
    const a = mid.open('execute_query', EDGE_COLS);
    for (let i = 0; i < few.length; i += 10) await mid.append(a.id, few.slice(i, i + 10));
    assert.ok(mid.usage().memoryBytes > budget, 'over the budget before finish');
    await mid.finish(a.id, table(EDGE_COLS, few), 'execute_query');
    await mid.settledMemory();
    assert.ok(mid.usage().memoryBytes <= budget, `${mid.usage().memoryBytes} bytes in memory`);
    assert.equal((await mid.info(old.id)).where, 'disk');
    assert.equal((await mid.info(a.id)).where, 'memory');
    assertIdentical(await allRows(mid, old.id), rows, 'the older result, moved to disk');
    assertIdentical(await allRows(mid, a.id), few, 'the streamed result');
  } finally { await mid.dispose(); }
  // over the memory budget without a spill yet (one append larger than the budget): written whole at finish
  const small = store(1);
  try {
    const d = small.open('execute_query', EDGE_COLS);
    void small.append(d.id, rows.slice(0, 3));
    const done = await small.finish(d.id, table(EDGE_COLS, rows.slice(0, 3)), 'execute_query');
    assert.equal(done.where, 'disk');
    assert.equal(small.usage().memoryBytes, 0);
    assert.equal((await arrowTable(small, d.id)).t.numRows, 3);
    assertIdentical(await allRows(small, d.id), rows.slice(0, 3), 'written at finish');
  } finally { await small.dispose(); }
});

test('a streamed result whose later rows need a wider encoding rewrites its file once and stays exact', async () => {
  const cols = [col('n', 'int8'), col('i', 'int4'), col('t', 'text')];
  const first = Array.from({ length: 4000 }, (_, i) => [BigInt(i) * 1000000007n, i, `row ${i}`]);
  const later = [[1n << 80n, 'not a number', 5], [null, 1.5, null], [-3n, -0, 'z']];
  let budget = 1;
  const dir = tmpDir('spill');
  const s = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes: budget, diskBytes: 1e10, idleSeconds: 3600 }) });
  try {
    const info = s.open('execute_query', cols);
    void s.append(info.id, first);
    await s.flushed(info.id);
    assert.ok(s.usage().memoryBytes < CHUNK + 1000);
    let { fields } = await arrowTable(s, info.id);
    assert.deepEqual(fields.map(f => f.enc), ['int64', 'int32', 'utf8']);
    void s.append(info.id, later);
    void s.append(info.id, first);
    await s.flushed(info.id);
    assert.ok(s.usage().memoryBytes < CHUNK + 1000);
    ({ fields } = await arrowTable(s, info.id));
    assert.deepEqual(fields.map(f => f.enc), ['bigint', 'v8', 'v8']);
    const want = [...first, ...later, ...first];
    assertIdentical((await s.page(info.id, { limit: 100_000 })).rows, want, 'rows after the rewrite');
    // a failed stream keeps its rows; a later put that needs the memory moves the rest to disk, exactly
    void s.append(info.id, [[1n, 2, 'tail']]);
    s.fail(info.id, 'the connection was lost');
    // a budget the new result fits alone, but not beside the failed result's rows in memory
    budget = s.usage().memoryBytes + 20;
    const other = await s.put('t', table([col('x', 'int4')], [[1]]));
    const i = await s.info(info.id);
    assert.equal(i.failed, 'the connection was lost');
    assert.equal(i.where, 'disk');
    assert.equal(s.usage().memoryBytes, (await s.info(other.id)).bytes, 'only the new result is in memory');
    assertIdentical(await allRows(s, info.id), [...want, [1n, 2, 'tail']], 'a failed stream after its tail moved to disk');
  } finally { await s.dispose(); }
});

test('dispose removes every spill file', async () => {
  const dir = tmpDir('spill-dispose');
  const s = store(0, dir);
  await s.put('t', table(EDGE_COLS, edgeRows()));
  const g = s.open('t', [col('a', 'int4')]);
  void s.append(g.id, Array.from({ length: 20_000 }, (_, i) => [i]));
  await s.dispose();
  await until(() => fs.readdirSync(path.join(dir, '.results')).length === 0, 'the spill folder is gone');
});

test('the PostgreSQL-free tests pass under TZ=Asia/Tokyo and TZ=America/New_York', { timeout: 300_000, skip: CHILD ? 'inside a TZ child run' : false }, () => {
  runTestFileUnderZones(__filename, stdout => { assert.match(stdout, /# pass [1-9]/); assert.match(stdout, /# fail 0/); });
});
