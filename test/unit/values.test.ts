// The one value model end to end: a PostgreSQL table with every type the catalog tools list goes through the
// MCP server (spawned under TZ=Asia/Tokyo and TZ=America/New_York) as execute_query text, structuredContent, CSV
// and Parquet save_as, and every cell comes back equal: read back with DuckDB and cast back in PostgreSQL against
// the original row. The representation itself is checked against the contract (src/core/values.ts).
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { bytesToHex, cellText, jsonText, logicalType, rowsToJson, toJsonValue, valueText } from '../../src/core/values';
import { parsePgArray, PG_PARSERS } from '../../src/core/db/pgValues';
import { toCsv } from '../../src/core/formats/csvWrite';
import { toArrowIPC } from '../../src/core/formats/arrowWrite';
import { tableFromIPC } from 'apache-arrow';
import { SampleDatabase } from '../../src/core/db/sample';
import { PostgresDatabase } from '../../src/core/db/postgres';

const nested = (n: number, leaf: string) => '['.repeat(n) + leaf + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '12345678901234567890' + '}'.repeat(n);

/** Every column: its SQL type, and how text (a cell, a CSV field, a JSON value as text) is cast back in PostgreSQL. */
const COLS: [name: string, type: string, back?: (v: string) => string][] = [
  ['d', 'date'], ['t', 'time'], ['ttz', 'timetz'], ['ts', 'timestamp'], ['tstz', 'timestamptz'], ['iv', 'interval'],
  ['n', 'numeric'], ['n2', 'numeric(12,3)'], ['i8', 'int8'], ['i4', 'int4'], ['f8', 'float8'], ['f4', 'real'], ['u', 'uuid'],
  ['j', 'json', v => `${v}::json::text`], ['jb', 'jsonb'], ['ba', 'bytea'], ['e', 'mood'], ['b', 'bool'], ['tx', 'text'],
  ['ai', 'int4[]', v => `CASE WHEN ${v} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${v}::jsonb))::int4[] END`],
  ['ai8', 'int8[]', v => `CASE WHEN ${v} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${v}::jsonb))::int8[] END`],
  ['at', 'text[]', v => `CASE WHEN ${v} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${v}::jsonb))::text[] END`],
  ['ad', 'date[]', v => `CASE WHEN ${v} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${v}::jsonb))::date[] END`],
  ['atz', 'timestamptz[]', v => `CASE WHEN ${v} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(${v}::jsonb))::timestamptz[] END`],
];

const ROWS: string[] = [
  `(1, '1995-03-11', '04:05:06.789012', '04:05:06+09', '2020-01-02 03:04:05.123456', '2020-01-02 03:04:05.123456+09',
    '1 year 2 months 3 days 04:05:06.5', '123456789012345678901234567890.123456789', '-123.450', 9007199254740993, 2147483647,
    'NaN', 1.5, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 12345678901234567890, "a": 2}', '{"big": 12345678901234567890, "x": [1.10]}',
    '\\x00ff10', 'happy', true, 'x,y "z"',
    '{1,NULL,3}', '{9007199254740993,-9223372036854775808}', '{"a,b","q\\"uote",NULL,"NULL",""}', '{1995-03-11}', '{"2020-01-02 03:04:05.123456+09"}')`,
  `(2, '2000-02-29', '00:00:00', '23:59:59.999999-03:30', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
    '0', '0', '0.000', -9223372036854775808, -2147483648,
    'Infinity', '-0', '00000000-0000-0000-0000-000000000000', '${nested(60, '12345678901234567890')}', '${deepObj(60)}',
    '\\x', 'sad', false, 'tab\there',
    '{}', '{}', '{}', '{}', '{}')`,
  '(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)',
  `(4, '0044-03-15', '24:00:00', '12:00:00.5+05:30', '1999-12-31 23:59:59.5', '2038-01-19 03:14:07.000001+00',
    '-1 days +00:00:00.000001', '-0.000000000000000000000000000001', '999999999.999', 1, 0,
    '-Infinity', 3.4028235e38, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[1, 2.50, "é"]', '[]',
    '\\xdeadbeef', 'ok', NULL, 'é 中文',
    '{NULL}', '{0}', '{"é"}', '{NULL,2000-02-29}', '{NULL}')`,
  `(5, '1600-01-01', '12:34:56', '00:00:00+00', '0001-01-01 00:00:00', '1900-06-15 12:00:00.000001-05',
    '-1 year -2 mons +3 days -04:05:06.789', '1e-20', '-0.001', -1, 1,
    '0.30000000000000004', 0.1, '550e8400-e29b-41d4-a716-446655440000', 'null', '"s"',
    '\\x0a0d7c', 'happy', true, '',
    '{-2147483648}', '{9223372036854775807}', '{"{}","\\\\"}', '{2020-12-31}', '{"1970-01-01 00:00:00+00"}')`,
];

/** What the contract says row 1 and row 2 look like (model text; structuredContent). */
const EXPECT_TEXT: Record<number, Record<string, string>> = {
  1: {
    d: '1995-03-11', t: '04:05:06.789012', ttz: '04:05:06+09:00', ts: '2020-01-02T03:04:05.123456', tstz: '2020-01-01T18:04:05.123456Z',
    iv: 'P1Y2M3DT4H5M6.5S', n: '123456789012345678901234567890.123456789', n2: '-123.450', i8: '9007199254740993', i4: '2147483647',
    f8: 'NaN', f4: '1.5', j: '{"a": 12345678901234567890, "a": 2}', jb: '{"x": [1.10], "big": 12345678901234567890}', ba: '\\x00ff10', e: 'happy',
    b: 'true', ai: '[1,null,3]', ai8: '[9007199254740993,-9223372036854775808]', at: '["a,b","q\\"uote",null,"NULL",""]',
    ad: '["1995-03-11"]', atz: '["2020-01-01T18:04:05.123456Z"]',
  },
  2: { iv: 'PT0S', n: '0', n2: '0.000', i8: '-9223372036854775808', f8: 'Infinity', f4: '-0', ba: '\\x', ai: '[]', tstz: '1969-12-31T23:59:59.999999Z', ts: '1970-01-01T00:00:00' },
};
const EXPECT_JSON: Record<number, Record<string, unknown>> = {
  1: { i8: '9007199254740993', i4: 2147483647, f8: 'NaN', f4: 1.5, b: true, ai: [1, null, 3], ai8: ['9007199254740993', '-9223372036854775808'],
    ba: '\\x00ff10', j: '{"a": 12345678901234567890, "a": 2}', tstz: '2020-01-01T18:04:05.123456Z', d: '1995-03-11' },
  2: { i8: '-9223372036854775808', f8: 'Infinity', j: nested(60, '12345678901234567890'), ai: [], iv: 'PT0S' },
  3: { d: null, i8: null, ai: null, j: null },
  4: { i8: 1, f8: '-Infinity', ai: [null] },
};

let pg: PgCluster;
let url: string;
let ref: Client;
let duck: DuckDBConnection;

before(async () => {
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE vals');
  url = pg.adminUrl.replace(/\/postgres$/, '/vals');
  ref = new Client({ connectionString: url });
  await ref.connect();
  await ref.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TABLE vt (id int PRIMARY KEY, ${COLS.map(([n, t]) => `${n} ${t}`).join(', ')});
    INSERT INTO vt (id, d, t, ttz, ts, tstz, iv, n, n2, i8, i4, f8, f4, u, j, jb, ba, e, b, tx, ai, ai8, at, ad, atz) VALUES ${ROWS.join(',\n')};`);
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  await duck.run("SET TimeZone = 'UTC'");
});
after(async () => { await ref?.end(); pg?.stop(); });

/** Cells (as text; null for NULL) that must equal the original row when cast back in PostgreSQL. */
type Cells = Map<number, Record<string, string | null>>;

async function assertSameAsSource(source: string, cells: Cells, opts: { exactScale: boolean; cols?: string[] }): Promise<void> {
  const problems: string[] = [];
  const ids = [...cells.keys()];
  assert.deepEqual(ids.sort(), [1, 2, 3, 4, 5], `${source}: every row came back`);
  for (const [name, type, back] of COLS) {
    if (opts.cols && !opts.cols.includes(name)) continue;
    const vals = ids.map(id => { const c = cells.get(id)!; assert.ok(name in c, `${source}: column ${name} is present`); return c[name]; });
    const conv = back ? back('x.v') : `x.v::${type}`;
    const orig = back && type === 'json' ? `vt.${name}::text` : `vt.${name}`;
    const scale = type.startsWith('numeric') && opts.exactScale ? ` OR (x.v IS NOT NULL AND x.v !~ '[eE]' AND scale(x.v::numeric) IS DISTINCT FROM scale(vt.${name}))` : '';
    const r = await ref.query(`SELECT x.id, x.v, vt.${name}::text AS orig FROM vt JOIN unnest($1::int[], $2::text[]) AS x(id, v) USING (id)
      WHERE (${conv}) IS DISTINCT FROM ${orig}${scale} ORDER BY x.id`, [ids, vals]);
    for (const row of r.rows) problems.push(`${source}: row ${row.id} column ${name} (${type}): got ${JSON.stringify(row.v)}, the table holds ${JSON.stringify(row.orig)}`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
}

/** The model's text table back into cells (a cell cut at the width limit is checked as a prefix elsewhere). */
function textCells(text: string): { cells: Cells; cut: Map<string, string> } {
  const lines = text.split('\n');
  const head = lines.findIndex(l => l.startsWith('id | '));
  const names = lines[head].split(' | ');
  const cells: Cells = new Map();
  const cut = new Map<string, string>();
  for (const line of lines.slice(head + 1)) {
    if (!/^\d+ \| /.test(line)) break;
    const vals = line.split(/(?<!\\) \| /);
    assert.equal(vals.length, names.length, `a text row has one cell per column: ${line}`);
    const rec: Record<string, string | null> = {};
    names.forEach((n, i) => {
      const v = vals[i].replace(/\\t/g, '\t').replace(/\\\|/g, '|');
      if (v.endsWith('…')) { cut.set(`${vals[0]}:${n}`, v.slice(0, -1)); rec[n] = null; } else rec[n] = v === 'NULL' ? null : v;
    });
    cells.set(Number(vals[0]), rec);
  }
  return { cells, cut };
}

async function duckCells(from: string): Promise<Cells> {
  const cols = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowsJS().map(r => [String(r[0]), String(r[1])]);
  const exprs = cols.map(([n, t]) => {
    const q = `"${n}"`;
    if (t === 'BLOB') return `CASE WHEN ${q} IS NULL THEN NULL ELSE '\\x' || lower(hex(${q})) END`;
    if (t.endsWith('[]')) return `CAST(to_json(${q}) AS VARCHAR)`;
    if (t === 'DOUBLE' || t === 'FLOAT') return `CASE WHEN isnan(${q}) THEN 'NaN' WHEN ${q} = 'inf'::DOUBLE THEN 'Infinity' WHEN ${q} = '-inf'::DOUBLE THEN '-Infinity' WHEN ${q} = 0 AND 1/${q} < 0 THEN '-0' ELSE CAST(${q} AS VARCHAR) END`;
    return `CAST(${q} AS VARCHAR)`;
  });
  const rows = (await duck.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${from}`)).getRowsJS();
  const cells: Cells = new Map();
  for (const r of rows) cells.set(Number(r[cols.findIndex(c => c[0] === 'id')]), Object.fromEntries(cols.map(([n], i) => [n, r[i] === null ? null : String(r[i])])));
  return cells;
}

const sq = (p: string) => `'${p.replace(/'/g, "''")}'`;

for (const tz of ['Asia/Tokyo', 'America/New_York']) {
  describe(`every PostgreSQL type through the MCP server under TZ=${tz}`, () => {
    let dir: string;
    let mcp: Awaited<ReturnType<typeof connectMcp>>;
    let result: Awaited<ReturnType<typeof mcp.client.callTool>>;
    before(async () => {
      dir = tmpDir('values');
      mcp = await connectMcp({ TZ: tz, DATABASE_URL: url, DATATOOLS_ROLE: 'data_engineer', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl') });
      result = await mcp.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT * FROM vt ORDER BY id' } });
      assert.equal(result.isError, undefined, JSON.stringify(result.content));
    });
    after(async () => { await mcp?.close(); });

    test('the column types name the logical types', () => {
      const t = (result.structuredContent as { tables: { columns: { name: string; type: string }[] }[] }).tables[0];
      const types = Object.fromEntries(t.columns.map(c => [c.name, c.type]));
      assert.equal(types.tstz, 'timestamp with time zone');
      assert.equal(types.n, 'numeric');
      assert.equal(types.n2, 'numeric(12,3)', 'the declared precision and scale are part of the type');
      assert.equal(types.ai8, 'bigint[]');
      assert.equal(logicalType(types.tstz).kind, 'timestamptz');
      assert.equal(logicalType(types.ts).kind, 'timestamp');
      assert.equal(logicalType(types.ttz).kind, 'timetz');
      assert.equal(logicalType(types.ai8).element?.kind, 'int64');
    });

    test('execute_query text: the contract\'s forms, and every cell casts back to the stored value', async () => {
      const text = (result.content as { text: string }[])[0].text;
      const { cells, cut } = textCells(text);
      for (const [id, exp] of Object.entries(EXPECT_TEXT)) {
        for (const [col, v] of Object.entries(exp)) assert.equal(cells.get(Number(id))![col], v, `text row ${id} column ${col}`);
      }
      // cut cells (the 60-level JSON, wide numbers) are prefixes of the full value
      const full = rowsToJson((result.structuredContent as { tables: { rows: unknown[][] }[] }).tables[0].rows);
      assert.ok(cut.size > 0, 'the 60-level JSON is wider than a text cell');
      const names = COLS.map(c => c[0]);
      for (const [key, prefix] of cut) {
        const [id, col] = key.split(':');
        const row = full.find(r => r[0] === Number(id))!;
        const v = row[names.indexOf(col) + 1];
        assert.ok((typeof v === 'string' ? v : jsonText(v)).startsWith(prefix), `cut text cell ${key} is a prefix of the value`);
      }
      await assertSameAsSource('text', new Map([...cells].map(([id, c]) => [id, Object.fromEntries(Object.entries(c).filter(([k]) => !cut.has(`${id}:${k}`)))])),
        { exactScale: true, cols: COLS.map(c => c[0]).filter(n => ![...cut.keys()].some(k => k.endsWith(`:${n}`))) });
    });

    test('structuredContent: JSON forms of the contract, and every value casts back to the stored value', async () => {
      const t = (result.structuredContent as { tables: { columns: { name: string }[]; rows: unknown[][] }[] }).tables[0];
      const names = t.columns.map(c => c.name);
      const cells: Cells = new Map();
      for (const r of t.rows) {
        const rec = Object.fromEntries(names.map((n, i) => [n, r[i]]));
        const id = rec.id as number;
        for (const [col, v] of Object.entries(EXPECT_JSON[id] ?? {})) assert.deepEqual(rec[col], v, `JSON row ${id} column ${col}`);
        cells.set(id, Object.fromEntries(names.map((n, i) => [n, r[i] === null ? null : typeof r[i] === 'object' ? JSON.stringify(r[i]) : String(r[i])])));
      }
      await assertSameAsSource('structuredContent', cells, { exactScale: true });
    });

    test('CSV save_as read back by DuckDB (all text) equals the table', async () => {
      const file = path.join(dir, 'vt.csv');
      const r = await mcp.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT * FROM vt ORDER BY id', save_as: file } });
      assert.equal(r.isError, undefined, JSON.stringify(r.content));
      const text = (r.content as { text: string }[])[0].text;
      assert.match(text, /Binary column ba written as hex text/);
      assert.match(text, /Column tx holds empty strings, written as ""/);
      const cells = await duckCells(`read_csv(${sq(file)}, all_varchar = true, header = true, quote = '"', escape = '"')`);
      // DuckDB reads the quoted empty field of row 5 as NULL (it cannot tell them apart): PostgreSQL's COPY below can
      assert.ok(cells.get(5)!.tx === null || cells.get(5)!.tx === '');
      cells.get(5)!.tx = '';
      await assertSameAsSource('CSV (DuckDB)', cells, { exactScale: true });
      const header = fs.readFileSync(file, 'utf8').split('\r\n')[0];
      assert.equal(header, ['id', ...COLS.map(c => c[0])].join(','));
      // and PostgreSQL's own COPY reads the same file back, empty string and NULL apart
      const back = `csv_back_${tz.replace(/\W/g, '_').toLowerCase()}`;
      await ref.query(`CREATE TABLE ${back} (id text, ${COLS.map(([n]) => `${n} text`).join(', ')})`);
      try {
        fs.chmodSync(dir, 0o755); fs.chmodSync(file, 0o644);
        psql(pg.adminUrl, `\\copy ${back} FROM ${sq(file)} WITH (FORMAT csv, HEADER true)`, 'vals');
        const rows = (await ref.query(`SELECT * FROM ${back}`)).rows as Record<string, string | null>[];
        assert.equal(rows.find(r => r.id === '5')!.tx, '');
        assert.equal(rows.find(r => r.id === '3')!.tx, null);
        await assertSameAsSource('CSV (PostgreSQL COPY)', new Map(rows.map(r => [Number(r.id), r])), { exactScale: true });
      } finally { await ref.query(`DROP TABLE ${back}`); }
    });

    test('Parquet save_as carries the logical types; DuckDB reads back every value', async () => {
      const file = path.join(dir, 'vt.parquet');
      const r = await mcp.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT * FROM vt ORDER BY id', save_as: file } });
      assert.equal(r.isError, undefined, JSON.stringify(r.content));
      const text = (r.content as { text: string }[])[0].text;
      assert.match(text, /ttz \(time with time zone\) written as text/);
      assert.match(text, /iv \(interval\) written as ISO 8601 duration text/);
      const types = Object.fromEntries((await duck.runAndReadAll(`DESCRIBE SELECT * FROM ${sq(file)}`)).getRowsJS().map(x => [x[0], x[1]]));
      assert.deepEqual({ d: types.d, t: types.t, ts: types.ts, tstz: types.tstz, i8: types.i8, i4: types.i4, f8: types.f8, f4: types.f4, n2: types.n2, u: types.u, ba: types.ba, ai8: types.ai8, ad: types.ad, atz: types.atz, j: types.j, b: types.b },
        { d: 'DATE', t: 'TIME', ts: 'TIMESTAMP', tstz: 'TIMESTAMP WITH TIME ZONE', i8: 'BIGINT', i4: 'INTEGER', f8: 'DOUBLE', f4: 'FLOAT', n2: 'DECIMAL(12,3)', u: 'UUID', ba: 'BLOB',
          ai8: 'BIGINT[]', ad: 'DATE[]', atz: 'TIMESTAMP WITH TIME ZONE[]', j: 'VARCHAR', b: 'BOOLEAN' });
      // json is UTF-8 text under Parquet's JSON logical type (DuckDB shows it as VARCHAR)
      const { parquetMetadataAsync, parquetSchema } = await import('hyparquet');
      const buf = fs.readFileSync(file);
      const meta = await parquetMetadataAsync(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      assert.equal(parquetSchema(meta).children.find(c => c.element.name === 'j')?.element.logical_type?.type, 'JSON');
      assert.equal(types.n, 'VARCHAR', 'numeric wider than 38 digits stays exact as text');
      assert.match(text, /column n \(numeric\) written as text: .*DECIMAL/);
      const cells = await duckCells(sq(file));
      await assertSameAsSource('Parquet', cells, { exactScale: false });
    });
  });
}

test('Parquet save_as: a numeric that fits is DECIMAL; NaN numerics and infinite dates are written as text and said', async () => {
  const dir = tmpDir('values-pq');
  const mcp = await connectMcp({ TZ: 'Asia/Tokyo', DATABASE_URL: url, DATATOOLS_ROLE: 'data_engineer', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl') });
  try {
    const ok = path.join(dir, 'ok.parquet');
    let r = await mcp.client.callTool({ name: 'execute_query', arguments: { query: "SELECT x::numeric AS n FROM (VALUES ('1.5'), ('-123.450'), ('99999999999999999999.9')) v(x)", save_as: ok } });
    assert.doesNotMatch((r.content as { text: string }[])[0].text, /In the file/);
    const rows = (await duck.runAndReadAll(`SELECT typeof(n), CAST(n AS VARCHAR) FROM ${sq(ok)}`)).getRowsJS();
    assert.deepEqual(rows, [['DECIMAL(23,3)', '1.500'], ['DECIMAL(23,3)', '-123.450'], ['DECIMAL(23,3)', '99999999999999999999.900']]);
    const bad = path.join(dir, 'bad.parquet');
    r = await mcp.client.callTool({ name: 'execute_query', arguments: { query: "SELECT 'NaN'::numeric AS n, 'infinity'::date AS d, '1999-01-08'::date AS d2", save_as: bad } });
    const text = (r.content as { text: string }[])[0].text;
    assert.match(text, /column n \(numeric\) written as text: the value "NaN" has no exact Parquet DECIMAL/);
    assert.match(text, /column d \(date\) written as text: the value "infinity" has no exact DATE form/);
    assert.deepEqual((await duck.runAndReadAll(`SELECT n, CAST(d AS VARCHAR), typeof(d2) FROM ${sq(bad)}`)).getRowsJS(), [['NaN', 'infinity', 'DATE']]);
  } finally { await mcp.close(); }
});

test('the PGlite sample gives the same values as PostgreSQL for the same query', async () => {
  const sample = new SampleDatabase();
  const real = new PostgresDatabase(url);
  const exprs = ROWS.slice(0, 2).concat(ROWS[3], ROWS[4]).map(r => r.replace(/\(\d+, /, '(')).map(r => `SELECT ${r.slice(1, -1)}`);
  // the same literals with explicit types (no table in the sample): each row as a SELECT list with casts
  const types = COLS.map(c => c[1].replace('mood', 'text'));
  const sql = exprs.map(e => {
    const parts = splitTopLevel(e.slice('SELECT '.length));
    return `SELECT ${parts.map((p, i) => `(${p})::${types[i]} AS ${COLS[i][0]}`).join(', ')}`;
  }).join(' UNION ALL ');
  const ctl = new AbortController();
  try {
    const a = await sample.readOnly(30_000, ctl.signal, run => run(sql));
    const b = await real.readOnly(30_000, ctl.signal, run => run(sql));
    assert.equal(a.rows.length, 4);
    assert.deepEqual(a.rows, b.rows);
    assert.deepEqual(a.fields.map(f => f.dataTypeID), b.fields.map(f => f.dataTypeID));
    // and the forms are the contract's, not JS Dates or floats
    const first = a.rows[0];
    assert.equal(first[COLS.findIndex(c => c[0] === 'tstz')], '2020-01-01T18:04:05.123456Z');
    assert.equal(first[COLS.findIndex(c => c[0] === 'i8')], 9007199254740993n);
    assert.ok(first[COLS.findIndex(c => c[0] === 'ba')] instanceof Uint8Array);
    assert.equal(first[COLS.findIndex(c => c[0] === 'n')], '123456789012345678901234567890.123456789');
    assert.equal(a.rows[1][COLS.findIndex(c => c[0] === 'iv')], 'PT0S');
  } finally { await sample.dispose(); await real.dispose(); }
});

test('the grid\'s Arrow IPC carries every value exactly: Int64 as BigInt, floats as numbers, the rest as the model\'s text', async () => {
  const real = new PostgresDatabase(url);
  try {
    const { columns, rows } = await real.readOnly(30_000, new AbortController().signal, async run => {
      const r = await run('SELECT * FROM vt ORDER BY id');
      const t = await run('SELECT oid::int4, format_type(oid, NULL) FROM pg_type WHERE oid = ANY($1::oid[])', [r.fields.map(f => f.dataTypeID)]);
      const names = new Map(t.rows.map(x => [Number(x[0]), String(x[1])]));
      return { columns: r.fields.map(f => ({ name: f.name, type: names.get(f.dataTypeID)! })), rows: r.rows };
    });
    const t = tableFromIPC(await toArrowIPC(columns, rows));
    assert.equal(t.numRows, rows.length);
    const diffs: string[] = [];
    rows.forEach((row, i) => row.forEach((v, j) => {
      const got = t.getChildAt(j)!.get(i);
      const want = v === null ? null : typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean' ? v : valueText(v, columns[j].type);
      if (!Object.is(got, want)) diffs.push(`row ${i + 1} ${columns[j].name}: grid ${String(got)}, value ${String(want)}`);
    }));
    assert.deepEqual(diffs, []);
    const col = (n: string) => t.getChild(n)!;
    assert.equal(col('d').get(0), '1995-03-11');
    assert.equal(col('tstz').get(0), '2020-01-01T18:04:05.123456Z');
    assert.equal(col('i8').get(0), 9007199254740993n);
    assert.equal(col('n').get(0), '123456789012345678901234567890.123456789');
    assert.ok(Number.isNaN(col('f8').get(0)));
  } finally { await real.dispose(); }
});

/** Splits "a, 'b,c', '{1,2}'" at top-level commas (outside quotes and parentheses). */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let cur = ''; let q = false; let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) { cur += ch; if (ch === "'" && s[i + 1] === "'") { cur += s[++i]; } else if (ch === "'") q = false; continue; }
    if (ch === "'") q = true;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

describe('values.ts helpers', () => {
  test('JSON conversion: bigints, non-finite floats, bytes, nested', () => {
    assert.equal(toJsonValue(2n ** 53n - 1n), 9007199254740991);
    assert.equal(toJsonValue(2n ** 53n + 1n), '9007199254740993');
    assert.equal(toJsonValue(-(2n ** 63n)), '-9223372036854775808');
    assert.equal(toJsonValue(NaN), 'NaN');
    assert.equal(toJsonValue(-Infinity), '-Infinity');
    assert.equal(toJsonValue(new Uint8Array([0, 255, 16])), '\\x00ff10');
    assert.deepEqual(toJsonValue([1n, [2n ** 60n, null], { a: new Uint8Array([1]) }]), [1, ['1152921504606846976', null], { a: '\\x01' }]);
    assert.deepEqual(toJsonValue(new Map([['k', 1n]])), [['k', 1]]);
  });
  test('text: exact, one line, and JS Dates from older sources in UTC by column type, whatever TZ', () => {
    assert.equal(cellText(2n ** 63n - 1n), '9223372036854775807');
    assert.equal(cellText(-0), '-0');
    assert.equal(cellText(0.1 + 0.2), '0.30000000000000004');
    assert.equal(cellText('a|b\nc'), 'a\\|b\\nc');
    assert.equal(cellText(null), 'NULL');
    assert.equal(cellText([1n, 2n ** 64n, NaN, 'x"']), '[1,18446744073709551616,"NaN","x\\""]');
    const d = new Date(Date.UTC(1995, 2, 11));
    assert.equal(valueText(d, 'date'), '1995-03-11');
    assert.equal(valueText(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 120)), 'timestamp'), '2020-01-02T03:04:05.12');
    assert.equal(valueText(new Date(Date.UTC(2020, 0, 2, 3, 4, 5)), 'timestamp with time zone'), '2020-01-02T03:04:05Z');
    assert.equal(bytesToHex(new Uint8Array([])), '\\x');
  });
  test('type names from every source map to the logical type', () => {
    const k = (t: string) => logicalType(t).kind;
    assert.deepEqual(['date', 'date32[day]', 'datetime64[ns]', 'datetime64[ns, UTC]', 'timestamp[us, UTC]', 'timestamp[ns]', 'timestamp without time zone',
      'time with time zone', 'time without time zone', 'numeric(15,2)', 'decimal(18,3)', 'int8', 'int64', 'integer', 'double precision', 'real', 'bytea', 'jsonb', 'uuid', 'character varying', 'mood'].map(k),
    ['date', 'date', 'timestamp', 'timestamptz', 'timestamptz', 'timestamp', 'timestamp', 'timetz', 'time', 'decimal', 'decimal', 'int64', 'int64', 'int32', 'float64', 'float32', 'bytes', 'json', 'uuid', 'text', 'other']);
    assert.deepEqual(logicalType('numeric(15,2)'), { kind: 'decimal', precision: 15, scale: 2 });
    assert.deepEqual(logicalType('list<int32>'), { kind: 'list', element: { kind: 'int32' } });
    assert.deepEqual(logicalType('timestamp with time zone[]'), { kind: 'list', element: { kind: 'timestamptz' } });
  });
  test('CSV: exact text, empty string quoted apart from NULL', () => {
    const csv = toCsv(['a', 'b', 'c', 'd'], [[9007199254740993n, '', null, new Uint8Array([10])], ['0.30000000000000004', 'x,"y"', [1n, null], NaN]]);
    assert.equal(csv, 'a,b,c,d\r\n9007199254740993,"",,\\x0a\r\n0.30000000000000004,"x,""y""","[1,null]",NaN\r\n');
  });
  test('PostgreSQL array text: quotes, escapes, NULL, nesting, bounds', () => {
    assert.deepEqual(parsePgArray('{1,NULL,"NULL","a\\"b","c\\\\d", e f }', s => s), ['1', null, 'NULL', 'a"b', 'c\\d', 'e f']);
    assert.deepEqual(parsePgArray('[0:1]={{1,2},{3,NULL}}', PG_PARSERS[23]), [[1, 2], [3, null]]);
    assert.deepEqual(PG_PARSERS[1016]('{9223372036854775807}'), [9223372036854775807n]);
    assert.deepEqual(PG_PARSERS[1185]('{"2020-01-01 00:00:00+00",NULL}'), ['2020-01-01T00:00:00Z', null]);
    assert.equal(PG_PARSERS[1266]('04:05:06-03'), '04:05:06-03:00');
    assert.equal(PG_PARSERS[1114]('infinity'), 'infinity');
  });
});
