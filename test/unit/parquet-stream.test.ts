// Issue 15, bounded memory: Parquet (and CSV) files are written from a result in chunks, row group by row group,
// into a temporary file that replaces the target only when complete. Checked against DuckDB cell by cell (a 70,000-row
// stored result of every value kind, spilled to disk; TPC-H lineitem through read_csv and read_parquet), memory measured
// in a child process (1,000,000 rows vs 100,000), and the file size cap refused mid-write with nothing left behind.
import { defaultWorkDir } from '../../src/core/config';
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { TPCH } from '../helpers/corpora';
import { ResultStore, rowBytes } from '../../src/core/store';
import { toParquetFile, writeParquetStream } from '../../src/core/formats/parquetWrite';
import { PathPolicy } from '../../src/core/storage/paths';
import type { ColumnInfo } from '../../src/core/result';

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;
let duck: DuckDBInstance;
let con: DuckDBConnection;
before(async () => { duck = await DuckDBInstance.create(':memory:'); con = await duck.connect(); });
after(() => { con?.closeSync?.(); });

// ---- a 70,000-row result of every value kind the Parquet writer maps ----

const N = 70_000;
const pad2 = (n: number) => String(n).padStart(2, '0');
function isoDay(k: number): string { return new Date(Date.UTC(1900, 0, 1) + k * 86_400_000).toISOString().slice(0, 10); }
function clock(micros: number): string {
  const s = Math.floor(micros / 1e6), f = micros % 1e6;
  return `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}${f ? `.${String(f).padStart(6, '0').replace(/0+$/, '')}` : ''}`;
}
function stamp(i: number, zone: boolean): string {
  const ms = Date.UTC(1960, 0, 1) + (i * 7_919_993) % 3_000_000_000 * 1000;
  const us = (i * 7919) % 1_000_000;
  return `${new Date(ms).toISOString().slice(0, 19)}${us ? `.${String(us).padStart(6, '0').replace(/0+$/, '')}` : ''}${zone ? 'Z' : ''}`;
}

const COLUMNS: ColumnInfo[] = [
  { name: 'id', type: 'int4' }, { name: 'i8', type: 'int8' }, { name: 'u64', type: 'uint64' }, { name: 'f8', type: 'float8' }, { name: 'f4', type: 'real' },
  { name: 'dec', type: 'numeric' }, { name: 'n2', type: 'numeric(12,3)' }, { name: 'nn', type: 'numeric' }, { name: 'd', type: 'date' }, { name: 't', type: 'time' },
  { name: 'ts', type: 'timestamp' }, { name: 'tstz', type: 'timestamptz' }, { name: 'tsn', type: 'timestamp' }, { name: 'ttz', type: 'timetz' },
  { name: 'iv', type: 'interval' }, { name: 'u', type: 'uuid' }, { name: 'j', type: 'json' }, { name: 'jb', type: 'jsonb' }, { name: 'ba', type: 'bytea' },
  { name: 'b', type: 'bool' }, { name: 'tx', type: 'text' }, { name: 'e', type: 'mood' }, { name: 'ai', type: 'int4[]' }, { name: 'ai8', type: 'int8[]' },
  { name: 'at', type: 'text[]' }, { name: 'ad', type: 'date[]' }, { name: 'atz', type: 'timestamptz[]' },
];

/** Row i (deterministic). Late rows decide column types: the widest decimal scale (row N-1), a NaN numeric
 *  (row 62,001) and a nanosecond timestamp (row 64,000) all come after several row groups. */
function row(i: number): unknown[] {
  const r: unknown[] = [
    i,
    i === 0 ? -(2n ** 63n) : i === 1 ? 2n ** 63n - 1n : (BigInt(i) - 125_000n) * 73_786_976_294_838n,
    i === 2 ? 2n ** 64n - 1n : BigInt(i) * 73_786_976_294_838n,
    [NaN, Infinity, -Infinity, -0][i % 1000] ?? i / 7,
    Math.fround(i / 3),
    i === N - 1 ? '0.0000001' : `${i % 2 ? '-' : ''}${i}.${i % 100}`,
    `${(i % 1_000_000) - 500_000}.${String(i % 1000).padStart(3, '0')}`,
    i === 62_001 ? 'NaN' : `${i}.5`,
    isoDay((i * 7) % 70_000),
    clock((i * 345_678_901) % 86_400_000_000),
    stamp(i, false),
    stamp(i + 17, true),
    i === 64_000 ? '2001-02-03T04:05:06.123456789' : stamp(i + 3, false),
    `${clock((i * 1_000_003) % 86_400_000_000)}${i % 2 ? '+09:00' : '-03:30'}`,
    i % 3 ? `P${i % 5}Y${i % 12}M${i % 28}DT${i % 24}H${i % 60}M${i % 60}.5S` : 'PT0S',
    `${(i * 2_654_435_761 % 4_294_967_296).toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`,
    `{"a": ${i}, "a": 12345678901234567890${i}, "x": [1.10]}`,
    `{"k": "é😀${i}"}`,
    new Uint8Array([i & 255, (i >> 8) & 255, 0, 10]),
    i % 2 === 0,
    i % 500 === 1 ? `z😀${i}` : i % 500 === 2 ? '' : `n${i % 3000}, "q"`,
    ['happy', 'sad', 'ok'][i % 3],
    i % 5 === 0 ? [] : [i, null, -i],
    [BigInt(i) * 1_000_000_000_000n, -(2n ** 63n)],
    ['a,b', null, '', `q"${i}`],
    [isoDay(i % 70_000), null],
    [stamp(i + 5, true)],
  ];
  // NULLs in every column but id, at different rows
  for (let c = 1; c < r.length; c++) if ((i + c) % 97 === 0) r[c] = null;
  return r;
}

function micros(s: string, digits: 6 | 9): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?$/.exec(s)!;
  const whole = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) / 1000n;
  return (whole * 10n ** BigInt(digits) + BigInt((m[7] ?? '').padEnd(digits, '0'))).toString();
}
const dayMicros = (s: string) => { const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(s)!; return String((+m[1] * 3600 + +m[2] * 60 + +m[3]) * 1e6 + +(m[4] ?? '').padEnd(6, '0')); };
const decAt = (s: string, scale: number) => { const [a, b = ''] = s.replace(/^-/, '').split('.'); return `${s.startsWith('-') ? '-' : ''}${a || '0'}.${b.padEnd(scale, '0')}`; };
const jsonList = (v: unknown[], f: (x: unknown) => string) => `[${v.map(x => (x === null ? 'null' : f(x))).join(',')}]`;

/** Per column: how DuckDB shows the Parquet value as text, and the text the source value must give. */
const CHECK: Record<string, [sql: string, expect: (v: unknown) => string]> = {
  id: ['CAST(id AS VARCHAR)', String], i8: ['CAST(i8 AS VARCHAR)', String], u64: ['CAST(u64 AS VARCHAR)', String],
  f8: ['f8', v => String(v)], f4: ['f4', v => String(Math.fround(v as number))],
  dec: ['CAST(dec AS VARCHAR)', v => decAt(v as string, 7)], n2: ['CAST(n2 AS VARCHAR)', String], nn: ['nn', String],
  d: ['CAST(d AS VARCHAR)', String], t: ['CAST((hour(t) * 3600 + minute(t) * 60)::BIGINT * 1000000 + microsecond(t) AS VARCHAR)', v => dayMicros(v as string)],
  ts: ['CAST(epoch_us(ts) AS VARCHAR)', v => micros(v as string, 6)], tstz: ['CAST(epoch_us(tstz) AS VARCHAR)', v => micros(v as string, 6)],
  tsn: ['CAST(epoch_ns(tsn) AS VARCHAR)', v => micros(v as string, 9)],
  ttz: ['ttz', String], iv: ['iv', String], u: ['CAST(u AS VARCHAR)', String], j: ['CAST(j AS VARCHAR)', String], jb: ['CAST(jb AS VARCHAR)', String],
  ba: ['hex(ba)', v => Buffer.from(v as Uint8Array).toString('hex').toUpperCase()], b: ['CAST(b AS VARCHAR)', String], tx: ['tx', String], e: ['e', String],
  ai: ['CAST(to_json(ai) AS VARCHAR)', v => jsonList(v as unknown[], String)], ai8: ['CAST(to_json(ai8) AS VARCHAR)', v => jsonList(v as unknown[], String)],
  at: ['CAST(to_json("at") AS VARCHAR)', v => JSON.stringify(v)], ad: ['CAST(to_json(ad) AS VARCHAR)', v => JSON.stringify(v)],
  atz: ['CAST(to_json(list_transform(atz, x -> epoch_us(x))) AS VARCHAR)', v => jsonList(v as unknown[], x => micros(x as string, 6))],
};

describe('a 70,000-row stored result (spilled to disk) streamed to Parquet in row groups', () => {
  const dir = tmpDir('pqstream');
  const store = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes: 0, diskBytes: 4 * 1024 ** 3, idleSeconds: 3600 }) });
  let id = '';
  const files: Record<string, string> = {};
  const notes: Record<string, string[]> = {};
  before(async () => {
    const rows: unknown[][] = [];
    for (let i = 0; i < N; i++) rows.push(row(i));
    const info = await store.put('test', { kind: 'table', columns: COLUMNS, rows, truncated: false });
    assert.equal(info.where, 'disk');
    id = info.id;
    const policy = new PathPolicy([dir], 1024 ** 3);
    // the host's zone plays no part: written under two zones, the files are byte for byte the same
    const tz = process.env.TZ;
    try {
      for (const zone of ['Asia/Tokyo', 'America/New_York']) {
        process.env.TZ = zone;
        const out = await policy.writeAtomicStream(path.join(dir, `${zone.replace('/', '_')}.parquet`), write => writeParquetStream(COLUMNS, () => store.scan(id), write, { rowGroupRows: 12_000, rowGroupBytes: Infinity }));
        files[zone] = out.path;
        notes[zone] = out.value.notes;
        assert.equal(out.value.rows, N);
        assert.equal(out.bytes, fs.statSync(out.path).size);
      }
    } finally { if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz; }
  });
  after(async () => { await store.dispose(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('the file has 6 row groups and the Parquet types of the value model, decided by every row (also the last ones)', async () => {
    const f = files['Asia/Tokyo'];
    assert.deepEqual(fs.readFileSync(f), fs.readFileSync(files['America/New_York']), 'the same bytes under Asia/Tokyo and America/New_York');
    assert.deepEqual(notes['Asia/Tokyo'], notes['America/New_York']);
    const groups = (await con.runAndReadAll(`SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${sq(f)}) ORDER BY 1`)).getRowsJS();
    assert.deepEqual(groups, [0, 1, 2, 3, 4, 5].map(g => [BigInt(g), g < 5 ? 12_000n : 10_000n]));
    const types = Object.fromEntries((await con.runAndReadAll(`DESCRIBE SELECT * FROM ${sq(f)}`)).getRowsJS().map(x => [x[0], x[1]]));
    assert.deepEqual(types, {
      id: 'INTEGER', i8: 'BIGINT', u64: 'UBIGINT', f8: 'DOUBLE', f4: 'FLOAT', dec: 'DECIMAL(12,7)', n2: 'DECIMAL(12,3)', nn: 'VARCHAR', d: 'DATE', t: 'TIME',
      ts: 'TIMESTAMP', tstz: 'TIMESTAMP WITH TIME ZONE', tsn: 'TIMESTAMP_NS', ttz: 'VARCHAR', iv: 'VARCHAR', u: 'UUID', j: 'VARCHAR', jb: 'VARCHAR', ba: 'BLOB',
      b: 'BOOLEAN', tx: 'VARCHAR', e: 'VARCHAR', ai: 'INTEGER[]', ai8: 'BIGINT[]', at: 'VARCHAR[]', ad: 'DATE[]', atz: 'TIMESTAMP WITH TIME ZONE[]',
    });
    const n = notes['Asia/Tokyo'].join('\n');
    assert.match(n, /column nn \(numeric\) written as text: the value "NaN" has no exact Parquet DECIMAL/);
    assert.match(n, /column ttz \(timetz\) written as text/);
    assert.match(n, /column iv \(interval\) written as ISO 8601 duration text/);
  });

  test('DuckDB reads back every cell equal to the stored value', async () => {
    const f = files['Asia/Tokyo'];
    const names = COLUMNS.map(c => c.name);
    const select = names.map(n => CHECK[n][0]).join(', ');
    const step = 25_000;
    let seen = 0;
    for (let from = 0; from < N; from += step) {
      const got = (await con.runAndReadAll(`SELECT ${select} FROM ${sq(f)} WHERE id >= ${from} AND id < ${from + step} ORDER BY id`)).getRowsJS();
      assert.equal(got.length, Math.min(step, N - from));
      for (let k = 0; k < got.length; k++) {
        const src = row(from + k);
        for (let c = 0; c < names.length; c++) {
          const v = src[c], g = got[k][c];
          if (v === null) { assert.equal(g, null, `row ${from + k} column ${names[c]} is NULL`); continue; }
          if (names[c] === 'f8' || names[c] === 'f4') {
            assert.ok(Object.is(g, names[c] === 'f4' ? Math.fround(v as number) : v), `row ${from + k} column ${names[c]}: ${String(g)} vs ${String(v)}`);
          } else assert.equal(g, CHECK[names[c]][1](v), `row ${from + k} column ${names[c]}`);
        }
        seen++;
      }
    }
    assert.equal(seen, N);
  });

  test('chunks or one array, the same file: rows in uneven chunks give the bytes of all rows at once', async () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => row(i));
    const chunked = (function* () { for (let i = 0; i < rows.length; i += 7_001) yield rows.slice(i, i + 7_001); });
    const parts: Uint8Array[] = [];
    await writeParquetStream(COLUMNS, chunked, b => { parts.push(b); }, { rowGroupRows: 25_000, rowGroupBytes: Infinity });
    const whole = await toParquetFile(COLUMNS, rows, 25_000);
    assert.ok(parts.length >= 4, `${parts.length} writes: a row group each, then the footer`);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(whole.bytes));
  });
});

// ---- TPC-H lineitem from the corpus: read_csv / read_parquet -> store -> get_result save_as -> DuckDB ----

describe('TPC-H lineitem through read_csv and read_parquet, saved as Parquet from the store', () => {
  type Reply = { content: { type: string; text?: string }[]; structuredContent?: { tables: { result_id?: string; stored_rows?: number }[] }; isError?: boolean };
  let c: Awaited<ReturnType<typeof connectMcp>>;
  const dir = tmpDir('pq-tpch');
  const tbl = path.join(TPCH, 'data', 'lineitem.tbl');
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await c.client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 }) as Reply;
    return { ...r, text: r.content.filter(x => x.type === 'text').map(x => x.text).join('\n') };
  };
  // the reference: DuckDB reading the corpus file itself, every field as its text (the trailing '|' makes a 17th, empty column)
  let ref: (string | null)[][];
  before(async () => {
    const csv = path.join(dir, 'lineitem.csv');
    await con.run(`COPY (SELECT * EXCLUDE (column16) FROM read_csv(${sq(tbl)}, delim = '|', header = false, all_varchar = true)) TO ${sq(csv)} (HEADER true)`);
    await con.run(`COPY (SELECT * FROM read_csv(${sq(csv)}, header = true)) TO ${sq(path.join(dir, 'lineitem.parquet'))}`);
    ref = (await con.runAndReadAll(`SELECT * EXCLUDE (column16) FROM read_csv(${sq(tbl)}, delim = '|', header = false, all_varchar = true)`)).getRowsJS() as (string | null)[][];
    assert.equal(ref.length, 60_175);
    c = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_MAX_ROWS: '100000' });
  });
  after(async () => { await c?.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  for (const [tool, file] of [['read_csv', 'lineitem.csv'], ['read_parquet', 'lineitem.parquet']]) {
    test(`${tool} -> get_result save_as parquet equals the corpus, cell by cell`, async () => {
      const r = await call(tool, { file_path: path.join(dir, file), n_rows: 100_000 });
      assert.notEqual(r.isError, true, r.text);
      const t = r.structuredContent!.tables[0];
      assert.equal(t.stored_rows, 60_175, r.text.slice(0, 300));
      const out = `${tool}-lineitem.parquet`;
      const s = await call('get_result', { result_id: t.result_id, save_as: out });
      assert.notEqual(s.isError, true, s.text);
      assert.match(s.text, /saved 60,175 rows × 16 columns/);
      const saved = path.join(defaultWorkDir([dir]), 'results', out);
      const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${sq(saved)}`)).getRowsJS().map(x => String(x[1]));
      assert.ok(types.includes('DATE') && types.some(x => /^(DECIMAL|BIGINT|INTEGER)/.test(x)), `typed columns: ${types.join(', ')}`);
      const back = (await con.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${sq(saved)}`)).getRowsJS() as (string | null)[][];
      // the reference: the corpus text for read_csv; for read_parquet, DuckDB's own reading of the Parquet it wrote
      // (its CSV sniffer made some decimals DOUBLE there: 0.10 is 0.1 in that file)
      const want = tool === 'read_csv' ? ref : (await con.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${sq(path.join(dir, file))}`)).getRowsJS() as (string | null)[][];
      assert.equal(back.length, want.length);
      for (let i = 0; i < want.length; i++) assert.deepEqual(back[i], want[i], `row ${i + 1}`);
    });
  }
});

// ---- memory: 1,000,000 rows vs 100,000 rows, in a child process ----

/** Run in a child: writes n generated rows (six columns, about 290 bytes each as the result store counts them)
 *  through writeParquetStream into a file; reports the peak RSS growth over the baseline before the write and the
 *  live heap after a full GC at each write the sink receives (each row group, then the footer). GATHER=1 does what the writer replaced: all rows
 *  into one array, then the file (the control: it cannot fit the same heap). */
const CHILD = `
const path = require('node:path');
const { writeParquetStream, toParquetFile } = require(process.env.OUT + '/src/core/formats/parquetWrite.js');
const { PathPolicy } = require(process.env.OUT + '/src/core/storage/paths.js');
const { rowBytes } = require(process.env.OUT + '/src/core/store.js');
const n = Number(process.env.ROWS);
const cols = [{ name: 'id', type: 'int8' }, { name: 'amount', type: 'numeric(12,2)' }, { name: 'day', type: 'date' },
  { name: 'ts', type: 'timestamptz' }, { name: 'name', type: 'text' }, { name: 'f', type: 'float8' }];
function* chunks() {
  for (let s = 0; s < n; s += 8192) {
    const rows = [];
    for (let i = s; i < Math.min(n, s + 8192); i++) rows.push([BigInt(i), (i * 37 % 100000) + '.' + String(i % 100).padStart(2, '0'),
      new Date(Date.UTC(2000, 0, 1) + (i % 9000) * 86400000).toISOString().slice(0, 10),
      new Date(Date.UTC(2000, 0, 1) + i * 1000).toISOString().slice(0, 19) + '.' + String(i % 1000000).padStart(6, '0') + 'Z',
      'name ' + i + ' ' + 'x'.repeat(i % 50), i / 7]);
    yield rows;
  }
}
(async () => {
  let rowsBytes = 0;
  for (const c of chunks()) for (const r of c) rowsBytes += rowBytes(r);
  global.gc();
  const base = process.memoryUsage().rss;
  let live = 0, writes = 0;
  const file = path.join(process.env.DIR, 'm' + n + '.parquet');
  const policy = new PathPolicy([process.env.DIR], 2 ** 40);
  const out = process.env.GATHER
    ? await (async () => { const all = []; for (const c of chunks()) all.push(...c); const pq = await toParquetFile(cols, all); await require('node:fs/promises').writeFile(file, pq.bytes); return { bytes: pq.bytes.length, value: { rows: all.length } }; })()
    : await policy.writeAtomicStream(file, write => writeParquetStream(cols, chunks, async b => {
        global.gc(); live = Math.max(live, process.memoryUsage().heapUsed); writes++;
        await write(b);
      }));
  // the peak RSS of this process image (VmHWM); resourceUsage().maxRSS would carry the parent's peak over the exec
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
  const peak = hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ rows: out.value.rows, rowsBytes, fileBytes: out.bytes, base, growth: peak - base, live, writes }));
})().catch(e => { console.error(e); process.exit(1); });
`;

test('memory: writing 1,000,000 rows holds about what 100,000 rows hold, far below the rows\' size', () => {
  const dir = tmpDir('pq-mem');
  // an old-space heap of 96 MB: the 1,000,000 rows alone are about 290 MB
  const HEAP = 96;
  try {
    const run = (rows: number, gather = false) => {
      const p = spawnSync(process.execPath, ['--expose-gc', `--max-old-space-size=${HEAP}`, '-e', CHILD], {
        env: { ...process.env, OUT: path.resolve(__dirname, '..', '..'), DIR: dir, ROWS: String(rows), ...(gather ? { GATHER: '1' } : {}) }, encoding: 'utf8', maxBuffer: 16 << 20 });
      fs.rmSync(path.join(dir, `m${rows}.parquet`), { force: true });
      return { status: p.status, stderr: p.stderr, out: p.status === 0 ? JSON.parse(p.stdout) as { rows: number; rowsBytes: number; fileBytes: number; base: number; growth: number; live: number; writes: number } : undefined };
    };
    const s = run(100_000), b = run(1_000_000);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(b.status, 0, b.stderr);
    const small = s.out!, big = b.out!;
    const mb = (x: number) => `${(x / 1024 / 1024).toFixed(0)} MB`;
    console.log(`memory (old space capped at ${HEAP} MB): 100,000 rows (${mb(small.rowsBytes)} of rows, file ${mb(small.fileBytes)}, ${small.writes - 1} row groups): `
      + `RSS +${mb(small.growth)}, live heap at most ${mb(small.live)}; 1,000,000 rows (${mb(big.rowsBytes)} of rows, file ${mb(big.fileBytes)}, `
      + `${big.writes - 1} row groups): RSS +${mb(big.growth)}, live heap at most ${mb(big.live)}`);
    assert.equal(small.rows, 100_000);
    assert.equal(big.rows, 1_000_000);
    assert.ok(big.writes >= 11, `${big.writes} writes: at least 10 row groups and the footer`);
    // what is alive when a row group is handed over (that row group included) does not grow with the rows
    assert.ok(big.live < small.live + 16 * 1024 * 1024, `live heap 1M ${mb(big.live)} vs 100k ${mb(small.live)}`);
    assert.ok(big.live < big.rowsBytes / 5, `live heap ${mb(big.live)}, the rows are ${mb(big.rowsBytes)}`);
    // the process's peak, garbage included, stays well below the rows and near that of 100,000 rows
    assert.ok(big.growth < big.rowsBytes / 2, `1M rows: RSS grew ${mb(big.growth)}, the rows are ${mb(big.rowsBytes)}`);
    assert.ok(big.growth < small.growth * 2 + 64 * 1024 * 1024, `1M rows: RSS grew ${mb(big.growth)}; 100k rows: ${mb(small.growth)}`);
    // the control: gathering the rows first (as before) does not fit the same heap
    const g = run(1_000_000, true);
    assert.notEqual(g.status, 0, 'gathering 1,000,000 rows fits a 96 MB heap: the limit proves nothing');
    assert.match(g.stderr, /heap out of memory|Allocation failed/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('a row group is also closed by the bytes of its rows (wide rows)', async () => {
  const dir = tmpDir('pq-groupbytes');
  try {
    const cols: ColumnInfo[] = [{ name: 'id', type: 'int8' }, { name: 'x', type: 'text' }];
    const rows = Array.from({ length: 20_000 }, (_, i) => [BigInt(i), `${String(i).padStart(5, '0')}:${'w'.repeat(1000)}`]);
    const per = rowBytes(rows[0]), budget = 4 * 1024 * 1024;
    const perGroup = Math.ceil(budget / per);
    const out = await new PathPolicy([dir], 2 ** 40).writeAtomicStream(path.join(dir, 'wide.parquet'), write => writeParquetStream(cols, () => [rows], write, { rowGroupBytes: budget }));
    const groups = (await con.runAndReadAll(`SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${sq(out.path)}) ORDER BY 1`)).getRowsJS();
    assert.equal(groups.length, Math.ceil(20_000 / perGroup));
    assert.ok(groups.slice(0, -1).every(g => g[1] === BigInt(perGroup)), JSON.stringify(groups.map(g => String(g[1]))));
    assert.deepEqual((await con.runAndReadAll(`SELECT count(*), sum(length(x)) FROM ${sq(out.path)}`)).getRowsJS(), [[20_000n, BigInt(rows.reduce((a, r) => a + (r[1] as string).length, 0))]]);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

// ---- the file size cap, mid-write ----

test('save_as past the file size cap: a clear tool error, no file and no temporary file left, an older file kept whole', async () => {
  const dir = tmpDir('pq-cap');
  const lines = ['id,name,amount'];
  // names that compress badly, so the Parquet file is well past the cap too
  for (let i = 1; i <= 30_000; i++) lines.push(`${i},n${(i * 2_654_435_761 % 4_294_967_296).toString(36)}${(i * 40_503 % 65_536).toString(36)},${i % 1000}.${pad2(i % 100)}`);
  fs.writeFileSync(path.join(dir, 'big.csv'), `${lines.join('\n')}\n`);
  const c = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'),
    DATATOOLS_MAX_ROWS: '30000', DATATOOLS_MAX_FILE_BYTES: String(256 * 1024) });
  try {
    type Reply = { content: { type: string; text?: string }[]; structuredContent?: { tables: { result_id?: string }[] }; isError?: boolean };
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await c.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Reply;
      return { ...r, text: r.content.filter(x => x.type === 'text').map(x => x.text).join('\n') };
    };
    const r = await call('read_csv', { file_path: path.join(dir, 'big.csv'), n_rows: 30_000 });
    assert.notEqual(r.isError, true, r.text);
    const id = r.structuredContent!.tables[0].result_id;
    const results = path.join(defaultWorkDir([dir]), 'results');
    // under the cap: written (the cap refuses only what passes it)
    const ok = await call('get_result', { result_id: id, where: [{ column: 'id', op: '<=', value: 1000 }], save_as: 'keep.parquet' });
    assert.notEqual(ok.isError, true, ok.text);
    const kept = fs.readFileSync(path.join(results, 'keep.parquet'));
    for (const name of ['keep.parquet', 'big.csv', 'big.parquet']) {
      const s = await call('get_result', { result_id: id, save_as: name });
      assert.equal(s.isError, true, s.text);
      assert.match(s.text, /The file grew past the 256 KB limit while it was written \([\d.]+ [KM]B at that point\); nothing was written\. Save fewer rows or columns/);
      assert.doesNotMatch(s.text, /\n\s+at /, 'no stack trace');
    }
    assert.deepEqual(fs.readdirSync(results).sort(), ['keep.parquet'], 'no new file and no temporary file');
    assert.deepEqual(fs.readFileSync(path.join(results, 'keep.parquet')), kept, 'the older file is whole');
    const back = (await con.runAndReadAll(`SELECT count(*), max(id) FROM ${sq(path.join(results, 'keep.parquet'))}`)).getRowsJS();
    assert.deepEqual(back, [[1000n, 1000]]);
  } finally { await c.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('the cap is checked as the file grows: row groups already written are dropped with the temporary file', async () => {
  const dir = tmpDir('pq-cap2');
  try {
    const cols: ColumnInfo[] = [{ name: 'id', type: 'int8' }, { name: 'x', type: 'text' }];
    const rows = Array.from({ length: 20_000 }, (_, i) => [BigInt(i), `v${(i * 2_654_435_761 % 4_294_967_296).toString(36)}`]);
    const policy = new PathPolicy([dir], 100 * 1024);
    let groupsWritten = 0;
    await assert.rejects(policy.writeAtomicStream(path.join(dir, 'out.parquet'), write => writeParquetStream(cols, () => [rows.slice(0, 5000), rows.slice(5000)], async b => {
      await write(b);
      groupsWritten++;
      assert.ok(fs.readdirSync(dir).some(f => /^\.out\.parquet\.[0-9a-f]+\.tmp$/.test(f)), 'bytes go to a temporary file beside the target');
    }, { rowGroupRows: 1000 })), /The file grew past the 100 KB limit while it was written/);
    assert.ok(groupsWritten >= 2, `${groupsWritten} row groups were written before the cap`);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
