// Unsigned integers exact everywhere: UTINYINT..UBIGINT (Parquet INTEGER(w, false) and the legacy UINT_8..UINT_64
// converted types) at the edges of each width (0, 1, 2^(w-1)-1, 2^(w-1), 2^w-1) and NULL, read by read_parquet over
// the real MCP server and compared cell by cell with DuckDB's own read of the same file; then written with save_as
// (CSV, Parquet; from read_parquet and from get_result over the store) and read back by DuckDB: the same values, the
// same unsigned types. With a zero result memory the store spills to its Arrow file: that file holds UInt8..UInt64
// and pages, sorts, filters and saves the same. The grid's Arrow IPC keeps UInt types too.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { logicalType, toJsonValue, valueText } from '../../src/core/values';
import { toArrowIPC } from '../../src/core/formats/arrowWrite';
import { readParquetHead } from '../../src/core/formats/parquet';

const WIDTHS = [8, 16, 32, 64] as const;
const DUCK_TYPE: Record<number, string> = { 8: 'UTINYINT', 16: 'USMALLINT', 32: 'UINTEGER', 64: 'UBIGINT' };
/** The edges of a width: 0, 1, 2^(w-1)-1, 2^(w-1), 2^w-1 (as bigints; the value model has numbers below 64 bits). */
const edges = (w: number): bigint[] => [0n, 1n, 2n ** BigInt(w - 1) - 1n, 2n ** BigInt(w - 1), 2n ** BigInt(w) - 1n];
const EDGE_ROWS = 5;
/** Rows: id 1-5 the edges (every width's k-th edge in row k), id 6 all NULL. */
const expected = (w: number, row: number): bigint | null => (row < EDGE_ROWS ? edges(w)[row] : null);
const COLS = ['id', 'u8', 'u16', 'u32', 'u64', 'l32', 'l64'];

const sq = (p: string) => `'${p.replace(/'/g, "''")}'`;
const dir = tmpDir('uint');
/** The host's work folder (the store's spill files), outside the data root as it must be. */
const work = tmpDir('uint-work');
const DUCK_FILE = path.join(dir, 'duck.parquet');
const LEGACY_FILE = path.join(dir, 'legacy.parquet');

let duck: DuckDBConnection;

/** DuckDB's read of a file: rows of JS values (numbers below 64 bits, bigints for UBIGINT, arrays for lists). */
async function duckRows(from: string): Promise<unknown[][]> {
  const r = await duck.runAndReadAll(`SELECT * FROM ${from} ORDER BY id`);
  return r.getRowsJS() as unknown[][];
}
async function duckTypes(from: string): Promise<Record<string, string>> {
  return Object.fromEntries((await duck.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowsJS().map(x => [String(x[0]), String(x[1])]));
}
/** A DuckDB value in the JSON form of the value model (structuredContent): safe integers as numbers, else digits. */
const duckJson = (v: unknown): unknown => (Array.isArray(v) ? v.map(duckJson) : typeof v === 'bigint' ? toJsonValue(v) : v ?? null);
/** The exact digits of a DuckDB value (lists as JSON text with bare digits, as the value model writes them). */
const duckText = (v: unknown): string => (v === null || v === undefined ? '' : Array.isArray(v) ? `[${v.map(x => (x === null ? 'null' : String(x))).join(',')}]` : String(v));

before(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  // the DuckDB file: INTEGER(w, false) logical types (and UINT_w converted types), dictionary encoded
  const row = (k: number) => {
    const cells = WIDTHS.map(w => { const e = expected(w, k); return e === null ? `NULL::${DUCK_TYPE[w]}` : `${e}::${DUCK_TYPE[w]}`; });
    const e32 = expected(32, k), e64 = expected(64, k);
    const l32 = e32 === null ? 'NULL::UINTEGER[]' : `[${e32}, NULL, 4294967295]::UINTEGER[]`;
    const l64 = e64 === null ? 'NULL::UBIGINT[]' : `[${e64}, NULL, 18446744073709551615]::UBIGINT[]`;
    return `(${k + 1}, ${cells.join(', ')}, ${l32}, ${l64})`;
  };
  await duck.run(`COPY (SELECT * FROM (VALUES ${Array.from({ length: EDGE_ROWS + 1 }, (_, k) => row(k)).join(', ')}) t(${COLS.join(', ')}))
    TO ${sq(DUCK_FILE)} (FORMAT parquet)`);
  // the legacy file: converted types UINT_8..UINT_64 only (no logical type), as older writers make them, PLAIN
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  // (hyparquet-writer takes the unsigned values and stores UINT_32 and UINT_64 ones over the signed maximum as their
  // two's complement bits; DuckDB's read below is the proof)
  const data = (w: number) => Array.from({ length: EDGE_ROWS + 1 }, (_, k) => { const e = expected(w, k); return e === null ? null : w === 64 ? e : Number(e); });
  const buf = parquetWriteBuffer({
    schema: [
      { name: 'root', num_children: 5 },
      { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
      ...[8, 16, 32].map(w => ({ name: `u${w}`, type: 'INT32' as const, converted_type: `UINT_${w}` as 'UINT_8', repetition_type: 'OPTIONAL' as const })),
      { name: 'u64', type: 'INT64', converted_type: 'UINT_64', repetition_type: 'OPTIONAL' },
    ],
    columnData: [
      { name: 'id', data: Array.from({ length: EDGE_ROWS + 1 }, (_, k) => k + 1) },
      ...WIDTHS.map(w => ({ name: `u${w}`, data: data(w), encoding: 'PLAIN' as const })),
    ],
    statistics: false,
  } as never);
  fs.writeFileSync(LEGACY_FILE, new Uint8Array(buf));
});
after(() => { duck?.closeSync(); });

test('the reference: DuckDB reads both files as UTINYINT..UBIGINT with the edge values', async () => {
  for (const f of [DUCK_FILE, LEGACY_FILE]) {
    const types = await duckTypes(sq(f));
    for (const w of WIDTHS) assert.equal(types[`u${w}`], DUCK_TYPE[w], `${path.basename(f)} u${w}`);
    const rows = await duckRows(sq(f));
    assert.equal(rows.length, EDGE_ROWS + 1);
    for (let k = 0; k < rows.length; k++) {
      WIDTHS.forEach((w, j) => { const e = expected(w, k); assert.equal(rows[k][1 + j] === null ? null : BigInt(rows[k][1 + j] as number), e, `${path.basename(f)} row ${k + 1} u${w}`); });
    }
  }
  // the legacy file really has no logical types: only the converted ones
  const { parquetMetadata } = await import('hyparquet');
  const b = fs.readFileSync(LEGACY_FILE);
  const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  for (const w of WIDTHS) {
    const el = meta.schema.find(e => e.name === `u${w}`)!;
    assert.equal(el.converted_type, `UINT_${w}`);
    assert.equal(el.logical_type, undefined);
  }
});

test('the value model: type names, kinds and widths', () => {
  for (const [names, w, kind] of [[['uint8', 'UTINYINT', 'Uint8'], 8, 'int32'], [['uint16', 'usmallint', 'UInt16'], 16, 'int32'],
    [['uint32', 'uinteger'], 32, 'int64'], [['uint64', 'ubigint', 'UBIGINT'], 64, 'uint64']] as const) {
    for (const n of names) assert.deepEqual(logicalType(n), { kind, unsigned: w }, n);
  }
  assert.deepEqual(logicalType('int32'), { kind: 'int32' });
  assert.deepEqual(logicalType('constructor'), { kind: 'other' });
  assert.deepEqual(logicalType('list<uint32>').element, { kind: 'int64', unsigned: 32 });
  assert.equal(valueText(4294967295), '4294967295');
  assert.equal(valueText(2n ** 64n - 1n), '18446744073709551615');
  assert.equal(toJsonValue(2n ** 64n - 1n), '18446744073709551615');
});

test('readParquetHead: every cell of both files in the value model (numbers below 64 bits, bigint for uint64, never negative)', async () => {
  for (const f of [DUCK_FILE, LEGACY_FILE]) {
    const bytes = fs.readFileSync(f);
    const head = await readParquetHead({ byteLength: bytes.length, read: async (s, e) => bytes.buffer.slice(bytes.byteOffset + s, bytes.byteOffset + e) }, { nRows: 100 });
    const types = Object.fromEntries(head.columns.map(c => [c.name, c.type]));
    for (const w of WIDTHS) assert.equal(types[`u${w}`], `uint${w}`, `${path.basename(f)} u${w}`);
    if (f === DUCK_FILE) { assert.equal(types.l32, 'list<uint32>'); assert.equal(types.l64, 'list<uint64>'); }
    assert.equal(head.rows.length, EDGE_ROWS + 1);
    head.rows.forEach((r, k) => WIDTHS.forEach((w, j) => {
      const e = expected(w, k);
      const want = e === null ? null : w === 64 ? e : Number(e);
      assert.equal(r[1 + j], want, `${path.basename(f)} row ${k + 1} u${w}: ${String(r[1 + j])}`);
    }));
  }
});

/** The MCP server, with the store's memory at `resultMemoryMb` (0: every result spills to disk). */
async function server(resultMemoryMb?: number) {
  return connectMcp({
    DATATOOLS_ROLE: 'data_engineer', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_WORK_DIR: work,
    ...(resultMemoryMb !== undefined ? { DATATOOLS_RESULT_MEMORY_MB: String(resultMemoryMb) } : {}),
  });
}
type Mcp = Awaited<ReturnType<typeof server>>;
interface Table { columns: { name: string; type: string }[]; rows: unknown[][]; result_id?: string }
async function call(mcp: Mcp, name: string, args: Record<string, unknown>): Promise<{ text: string; table?: Table }> {
  const r = await mcp.client.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text?: string }[]).filter(c => c.type === 'text').map(c => c.text).join('\n');
  assert.equal(r.isError, undefined, `${name}: ${text}`);
  return { text, table: (r.structuredContent as { tables?: Table[] } | undefined)?.tables?.[0] };
}

let compared = 0;
/** Every cell of `got` (structuredContent rows) equals DuckDB's read of `file`, in the value model's JSON. */
async function sameAsDuck(label: string, got: Table, file: string, cols = COLS): Promise<void> {
  const ref = await duckRows(sq(file));
  const refCols = Object.keys(await duckTypes(sq(file)));
  assert.equal(got.rows.length, ref.length, `${label}: rows`);
  for (let k = 0; k < ref.length; k++) {
    for (const c of cols) {
      const j = got.columns.findIndex(x => x.name === c), rj = refCols.indexOf(c);
      if (rj < 0) continue;
      assert.ok(j >= 0, `${label}: column ${c}`);
      assert.deepEqual(got.rows[k][j], duckJson(ref[k][rj]), `${label}: row ${k + 1} ${c}`);
      compared++;
    }
  }
}

/** The table in the text the model reads ("a | b" lines under the header line): every cell is DuckDB's digits. */
async function textSameAsDuck(label: string, text: string, file: string): Promise<void> {
  const lines = text.split('\n');
  const head = lines.findIndex(l => l.startsWith('id | '));
  assert.ok(head >= 0, `${label}: a table in the text`);
  const names = lines[head].split(' | ');
  const ref = await duckRows(sq(file));
  const refCols = Object.keys(await duckTypes(sq(file)));
  for (let k = 0; k < ref.length; k++) {
    const cells = lines[head + 1 + k].split(' | ');
    names.forEach((n, j) => {
      const v = ref[k][refCols.indexOf(n)];
      assert.equal(cells[j], v === null ? 'NULL' : duckText(v), `${label}: row ${k + 1} ${n}`);
      compared++;
    });
  }
}

/** The written file read back by DuckDB: unsigned types and the same digits as DuckDB's read of `source`. */
async function savedSame(label: string, saved: string, source: string, opts: { csv?: boolean; cols?: string[] } = {}): Promise<void> {
  const refTypes = await duckTypes(sq(source));
  const cols = (opts.cols ?? COLS).filter(c => c in refTypes);
  const from = opts.csv ? `read_csv(${sq(saved)}, all_varchar = true, header = true)` : sq(saved);
  if (!opts.csv) {
    const types = await duckTypes(from);
    for (const w of WIDTHS) if (cols.includes(`u${w}`)) assert.equal(types[`u${w}`], DUCK_TYPE[w], `${label}: u${w} stays unsigned`);
    if (cols.includes('l32')) assert.equal(types.l32, 'UINTEGER[]', `${label}: l32`);
    if (cols.includes('l64')) assert.equal(types.l64, 'UBIGINT[]', `${label}: l64`);
  }
  const got = (await duck.runAndReadAll(`SELECT ${cols.join(', ')} FROM ${from} ORDER BY CAST(id AS INTEGER)`)).getRowsJS();
  const ref = (await duck.runAndReadAll(`SELECT ${cols.join(', ')} FROM ${sq(source)} ORDER BY id`)).getRowsJS();
  assert.equal(got.length, ref.length, `${label}: rows`);
  for (let k = 0; k < ref.length; k++) {
    cols.forEach((c, j) => {
      const g = got[k][j];
      // CSV: the exact digits (NULL an empty field); Parquet: the same value and JS type
      if (opts.csv) assert.equal(g ?? '', duckText(ref[k][j]), `${label}: row ${k + 1} ${c}`);
      else assert.deepEqual(g, ref[k][j], `${label}: row ${k + 1} ${c}`);
      compared++;
    });
  }
}

for (const spill of [false, true]) {
  describe(spill ? 'over MCP, every result spilled to the store\'s Arrow file' : 'over MCP, results in memory', () => {
    let mcp: Mcp;
    before(async () => { mcp = await server(spill ? 0 : undefined); });
    after(async () => { await mcp?.close(); });
    const tag = spill ? 'spill' : 'mem';

    for (const [label, file] of [['DuckDB file (INTEGER(w, false))', DUCK_FILE], ['legacy file (UINT_w converted types only)', LEGACY_FILE]] as const) {
      const base = path.basename(file, '.parquet');
      test(`read_parquet of the ${label}: types, text and every structured cell equal DuckDB's read`, async () => {
        const r = await call(mcp, 'read_parquet', { file_path: file });
        const t = r.table!;
        for (const w of WIDTHS) assert.equal(t.columns.find(c => c.name === `u${w}`)?.type, `uint${w}`);
        await sameAsDuck(`${base} read_parquet`, t, file);
        await textSameAsDuck(`${base} read_parquet text`, r.text, file);
      });

      for (const ext of ['csv', 'parquet']) {
        test(`read_parquet save_as .${ext} of the ${label}: DuckDB reads back the same values${ext === 'parquet' ? ' and unsigned types' : ' (exact digits)'}`, async () => {
          const out = path.join(dir, `${base}-${tag}-read.${ext}`);
          const r = await call(mcp, 'read_parquet', { file_path: file, save_as: out });
          assert.match(r.text, /Saved the 6 rows read/);
          assert.doesNotMatch(r.text, /written as text/);
          await savedSame(`${base} read_parquet save_as ${ext}`, out, file, { csv: ext === 'csv' });
        });

        test(`get_result save_as .${ext} of the ${label} (from the store): DuckDB reads back the same`, async () => {
          const r = await call(mcp, 'read_parquet', { file_path: file });
          const out = path.join(dir, `${base}-${tag}-stored.${ext}`);
          const s = await call(mcp, 'get_result', { result_id: r.table!.result_id, save_as: out });
          assert.match(s.text, /saved 6 rows/);
          assert.doesNotMatch(s.text, /In the file:/, 'no column changed its type');
          await savedSame(`${base} get_result save_as ${ext}`, out, file, { csv: ext === 'csv' });
        });
      }

      test(`get_result of the ${label}: pages, sorts and filters by unsigned value`, async () => {
        const r = await call(mcp, 'read_parquet', { file_path: file });
        const id = r.table!.result_id!;
        const page = await call(mcp, 'get_result', { result_id: id });
        await sameAsDuck(`${base} get_result page`, page.table!, file);
        for (const w of WIDTHS) {
          // descending: 2^w-1 first (a value read as negative would sort last), NULL last
          const s = await call(mcp, 'get_result', { result_id: id, order_by: [{ column: `u${w}`, desc: true }], columns: ['id'] });
          assert.deepEqual(s.table!.rows.map(x => x[0]), [5, 4, 3, 2, 1, 6], `u${w} desc`);
          // above the signed maximum: exactly the two top edges
          const half = 2n ** BigInt(w - 1) - 1n;
          const f = await call(mcp, 'get_result', { result_id: id, where: [{ column: `u${w}`, op: '>', value: w === 64 ? half.toString() : Number(half) }], columns: ['id'] });
          assert.deepEqual(f.table!.rows.map(x => x[0]).sort(), [4, 5], `u${w} > ${half}`);
        }
      });
    }

    if (spill) {
      test('the spill files are Arrow files with UInt8..UInt64 columns holding the edge values', async () => {
        const A = await import('apache-arrow');
        const files: string[] = [];
        const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.name.endsWith('.arrow')) files.push(p); } };
        walk(work);
        assert.ok(files.length > 0, 'results were spilled');
        let checked = 0;
        for (const f of files) {
          const t = A.tableFromIPC(fs.readFileSync(f));
          if (!t.schema.fields.some(x => x.name === 'u64')) continue;
          const types = Object.fromEntries(t.schema.fields.map(x => [x.name, String(x.type)]));
          assert.deepEqual([types.u8, types.u16, types.u32, types.u64], ['Uint8', 'Uint16', 'Uint32', 'Uint64'], path.basename(f));
          for (const w of WIDTHS) {
            const got = t.getChild(`u${w}`)!.toArray() as ArrayLike<number | bigint>;
            const col = t.getChild(`u${w}`)!;
            for (let k = 0; k < EDGE_ROWS; k++) assert.equal(BigInt(got[k]), expected(w, k), `${path.basename(f)} u${w} row ${k + 1}`);
            assert.equal(col.get(EDGE_ROWS), null);
          }
          checked++;
        }
        assert.ok(checked > 0, 'a spill file of an unsigned table');
      });
    }
  });
}

test('an Arrow IPC file (file and stream formats) of UInt8..UInt64 through read_parquet: every cell as apache-arrow reads it; get_result save_as .parquet keeps the types', async () => {
  const A = await import('apache-arrow');
  const vec = (w: number) => A.vectorFromArray(Array.from({ length: EDGE_ROWS + 1 }, (_, k) => { const e = expected(w, k); return e === null ? null : w === 64 ? e : Number(e); }) as never,
    w === 8 ? new A.Uint8() : w === 16 ? new A.Uint16() : w === 32 ? new A.Uint32() : new A.Uint64());
  const t = new A.Table({ id: A.vectorFromArray(Array.from({ length: EDGE_ROWS + 1 }, (_, k) => k + 1), new A.Int32()), ...Object.fromEntries(WIDTHS.map(w => [`u${w}`, vec(w)])) });
  const mcp = await server();
  try {
    for (const fmt of ['file', 'stream'] as const) {
      const src = path.join(dir, `edges-${fmt}.arrow`);
      fs.writeFileSync(src, A.tableToIPC(t, fmt));
      const ref = A.tableFromIPC(fs.readFileSync(src));
      const r = await call(mcp, 'read_parquet', { file_path: src });
      const got = r.table!;
      for (const w of WIDTHS) assert.equal(got.columns.find(c => c.name === `u${w}`)?.type, `uint${w}`, `${fmt} u${w}`);
      for (let k = 0; k <= EDGE_ROWS; k++) {
        for (const w of WIDTHS) {
          const v = ref.getChild(`u${w}`)!.get(k);
          assert.deepEqual(got.rows[k][got.columns.findIndex(c => c.name === `u${w}`)], v === null ? null : toJsonValue(v), `${fmt} row ${k + 1} u${w}`);
          compared++;
        }
      }
      const out = path.join(dir, `edges-${fmt}.parquet`);
      await call(mcp, 'get_result', { result_id: got.result_id, save_as: out });
      const types = await duckTypes(sq(out));
      for (const w of WIDTHS) assert.equal(types[`u${w}`], DUCK_TYPE[w], `${fmt} saved u${w}`);
      const back = (await duck.runAndReadAll(`SELECT u8, u16, u32, u64 FROM ${sq(out)} ORDER BY id`)).getRowsJS();
      back.forEach((row, k) => WIDTHS.forEach((w, j) => { assert.equal(row[j] === null ? null : BigInt(row[j] as number), expected(w, k), `${fmt} saved row ${k + 1} u${w}`); compared++; }));
      // read_parquet's own save_as on an Arrow file writes the file and says so (it was ignored on this path)
      const direct = path.join(dir, `edges-${fmt}-direct.parquet`);
      const d = await call(mcp, 'read_parquet', { file_path: src, save_as: direct });
      assert.match(d.text, /Saved the \d+ rows read to /);
      const types2 = await duckTypes(sq(direct));
      for (const w of WIDTHS) assert.equal(types2[`u${w}`], DUCK_TYPE[w], `${fmt} read_parquet save_as u${w}`);
      const back2 = (await duck.runAndReadAll(`SELECT u8, u16, u32, u64 FROM ${sq(direct)} ORDER BY id`)).getRowsJS();
      back2.forEach((row, k) => WIDTHS.forEach((w, j) => { assert.equal(row[j] === null ? null : BigInt(row[j] as number), expected(w, k), `${fmt} direct row ${k + 1} u${w}`); compared++; }));
    }
  } finally { await mcp.close(); }
});

test('read_parquet save_as says in its text when a column changes type in the file (as execute_query does)', async () => {
  const src = path.join(dir, 'interval.parquet');
  await duck.run(`COPY (SELECT 1 AS id, INTERVAL 1 DAY AS iv, 4294967295::UINTEGER AS u32) TO ${sq(src)} (FORMAT parquet)`);
  const mcp = await server();
  try {
    const out = path.join(dir, 'interval-out.parquet');
    const r = await call(mcp, 'read_parquet', { file_path: src, save_as: out });
    assert.match(r.text, /In the file: column iv \(interval\) written as ISO 8601 duration text/);
    assert.doesNotMatch(r.text, /column u32/);
    assert.equal((await duckTypes(sq(out))).u32, 'UINTEGER');
  } finally { await mcp.close(); }
});

test('PostgreSQL oid (an unsigned 4-byte integer, the sample database): save_as .parquet keeps it UINTEGER, exact', async () => {
  const mcp = await server();
  try {
    const out = path.join(dir, 'oid.parquet');
    const r = await call(mcp, 'execute_query', { query: 'SELECT 1 AS id, 4294967295::oid AS o, 2147483648::oid AS h, 0::oid AS z', save_as: out });
    assert.deepEqual(r.table!.rows[0], [1, 4294967295, 2147483648, 0]);
    assert.doesNotMatch(r.text, /written as text/);
    const types = await duckTypes(sq(out));
    assert.deepEqual([types.o, types.h, types.z], ['UINTEGER', 'UINTEGER', 'UINTEGER']);
    assert.deepEqual((await duck.runAndReadAll(`SELECT o, h, z FROM ${sq(out)}`)).getRowsJS(), [[4294967295, 2147483648, 0]]);
    compared += 3;
  } finally { await mcp.close(); }
});

test('the grid\'s Arrow IPC: UInt8..UInt64, values exact', async () => {
  const A = await import('apache-arrow');
  const columns = WIDTHS.map(w => ({ name: `u${w}`, type: `uint${w}` }));
  const rows = Array.from({ length: EDGE_ROWS + 1 }, (_, k) => WIDTHS.map(w => { const e = expected(w, k); return e === null ? null : w === 64 ? e : Number(e); }));
  const t = A.tableFromIPC(await toArrowIPC(columns, rows));
  assert.deepEqual(t.schema.fields.map(f => String(f.type)), ['Uint8', 'Uint16', 'Uint32', 'Uint64']);
  for (let k = 0; k <= EDGE_ROWS; k++) {
    WIDTHS.forEach(w => { const v = t.getChild(`u${w}`)!.get(k); assert.equal(v === null ? null : BigInt(v), expected(w, k), `u${w} row ${k + 1}`); compared++; });
  }
});

test('cells compared', () => {
  // a guard against the comparisons silently comparing nothing
  assert.ok(compared > 500, `compared ${compared} cells`);
  console.log(`unsigned: ${compared} cells compared with DuckDB (or the expected edges)`);
});
