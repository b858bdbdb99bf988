import { after, before, describe, test } from 'node:test';
import { defaultWorkDir } from '../../src/core/config';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client as PgClient } from 'pg';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { ResultStore, compareDecimal } from '../../src/core/store';

// Issue 15: every table a tool produces is stored whole; get_result and datatools://results/<id> page, sort,
// filter, describe and save it; compared with PostgreSQL (pg directly) and DuckDB, in memory and spilled to disk.

type Reply = { content: { type: string; text?: string; uri?: string }[]; structuredContent?: { tables: Table[] }; isError?: boolean };
type Table = { columns: { name: string; type: string }[]; rows: unknown[][]; result_id?: string; next_offset?: number | null; stored_rows?: number; total_rows?: number | null; truncated: boolean };

const N = 25_000;
let pg: PgCluster;
let url: string;
let ref: PgClient;

// values chosen to exercise the value model's order: bigints past 2^53, decimals of several scales (1.5 and 1.50),
// negative numbers, NULLs in every column, text past the BMP (code point vs UTF-16 order), dates and timestamps
const TABLE_SQL = `
CREATE TABLE t AS SELECT g AS id,
  CASE WHEN g % 19 = 0 THEN NULL ELSE ((g * 7919) % 1000 - 500)::bigint * 90071992547409 END AS big,
  CASE WHEN g % 11 = 0 THEN NULL WHEN g % 7 = 0 THEN (((g * 37) % 2000) - 1000)::numeric / 100 ELSE round((((g * 37) % 2000) - 1000)::numeric / 100, 3) END AS dec,
  CASE WHEN g % 13 = 0 THEN NULL ELSE date '1990-01-01' + ((g * 31) % 15000) END AS d,
  timestamptz '2020-01-01 00:00:00+00' + ((g * 7) % 5000) * interval '3601 seconds' AS ts,
  CASE WHEN g % 17 = 0 THEN NULL WHEN g % 500 = 1 THEN 'z' || chr(128512) WHEN g % 500 = 2 THEN 'z' || chr(65533) ELSE md5((g % 3000)::text) END AS txt,
  (g % 5 = 0) AS flag,
  CASE WHEN g % 23 = 0 THEN NULL ELSE (g % 97)::float8 / 7 END AS f
FROM generate_series(1, ${N}) g`;
/** The same columns as text, as the value model writes them. */
const TEXT_COLS = `id::text AS id_t, big::text AS big_t, dec::text AS dec_t, d::text AS d_t, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ts_t, txt AS txt_t, flag::text AS flag_t, f::text AS f_t`;
// (aliased: ORDER BY must see the table's typed columns, not text output columns of the same name)

const norm = (v: unknown) => v === null ? null : String(v);

async function pgRows(sql: string): Promise<(string | null)[][]> {
  const r = await ref.query({ text: sql, rowMode: 'array' });
  return r.rows as (string | null)[][];
}

before(async () => {
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE res');
  url = pg.adminUrl.replace(/\/postgres$/, '/res');
  psql(url, TABLE_SQL);
  psql(url, 'ANALYZE t');
  ref = new PgClient({ connectionString: url });
  await ref.connect();
});
after(async () => { await ref?.end(); pg?.stop(); });

type Conn = Awaited<ReturnType<typeof connectMcp>>;
async function server(extra: Record<string, string> = {}): Promise<Conn & { dir: string }> {
  const dir = tmpDir('results');
  const c = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir,
    DATABASE_URL: url, DATATOOLS_MAX_ROWS: '30000', TZ: process.env.TZ ?? '', ...extra });
  await c.client.listTools(); // the client validates structuredContent against the outputSchema it listed
  return { ...c, dir };
}
async function call(c: Conn, name: string, args: Record<string, unknown>): Promise<Reply & { text: string }> {
  const r = await c.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Reply;
  return { ...r, text: r.content.filter(x => x.type === 'text').map(x => x.text).join('\n') };
}
/** Every row of a get_result request, page by page; checks the offsets and the counts it reports. */
async function pageAll(c: Conn, args: Record<string, unknown>, limit = 4000): Promise<{ rows: unknown[][]; matched: number; columns: string[] }> {
  const rows: unknown[][] = [];
  let offset = 0;
  let matched = -1;
  let columns: string[] = [];
  for (;;) {
    const r = await call(c, 'get_result', { ...args, offset, limit });
    assert.notEqual(r.isError, true, r.text);
    const t = r.structuredContent!.tables[0];
    columns = t.columns.map(x => x.name);
    matched = t.total_rows!;
    rows.push(...t.rows);
    if (t.rows.length) assert.match(r.text, new RegExp(`rows ${(offset + 1).toLocaleString('en-US')}–${(offset + t.rows.length).toLocaleString('en-US')} of `));
    if (t.next_offset === null || t.next_offset === undefined) break;
    assert.equal(t.next_offset, offset + t.rows.length);
    offset = t.next_offset;
  }
  assert.equal(rows.length, matched, 'every matching row exactly once');
  return { rows, matched, columns };
}

for (const mode of ['memory', 'spilled'] as const) {
  describe(`results ${mode}`, () => {
    let c: Conn & { dir: string };
    let id: string;
    before(async () => {
      c = await server(mode === 'spilled' ? { DATATOOLS_RESULT_MEMORY_MB: '0' } : {});
      const r = await call(c, 'execute_query', { query: 'SELECT * FROM t ORDER BY id' });
      assert.notEqual(r.isError, true, r.text);
      const m = /Result (r[0-9a-z]+): 25,000 rows × 8 columns stored; page, sort, filter or describe it with get_result/.exec(r.text);
      assert.ok(m, r.text.slice(-500));
      id = m[1];
      const t = r.structuredContent!.tables[0];
      assert.equal(t.result_id, id);
      assert.equal(t.rows.length, 100, 'only a first window is inlined');
      assert.equal(t.stored_rows, N);
      assert.equal(t.next_offset, 100);
      assert.ok(r.content.some(x => x.type === 'resource_link' && x.uri === `datatools://results/${id}`));
      if (mode === 'spilled') {
        const spill = path.join(defaultWorkDir([c.dir]), '.results');
        assert.ok(fs.existsSync(spill) && fs.readdirSync(spill).some(d => fs.readdirSync(path.join(spill, d)).some(f => f.startsWith(id))), 'spilled to <workDir>/.results');
      }
    });
    after(async () => { await c?.close(); });

    test('paging gives back every row exactly once, equal to pg', async () => {
      const all = await pageAll(c, { result_id: id });
      assert.equal(all.matched, N);
      const expected = await pgRows(`SELECT ${TEXT_COLS} FROM t ORDER BY id`);
      assert.deepEqual(all.rows.map(r => r.map(norm)), expected);
      // resources/read pages the same rows
      const res = await c.client.readResource({ uri: `datatools://results/${id}?offset=24990&limit=50` });
      const body = JSON.parse((res.contents[0] as { text: string }).text);
      assert.equal(body.total_rows, N);
      assert.equal(body.offset, 24990);
      assert.equal(body.next_offset, null);
      assert.deepEqual(body.rows.map((r: unknown[]) => r.map(norm)), expected.slice(24990));
      const tpl = await c.client.listResourceTemplates();
      assert.match(tpl.resourceTemplates[0].uriTemplate, /^datatools:\/\/results\/\{result_id\}/);
    });

    const orders: [string, { column: string; desc?: boolean }[], string][] = [
      ['decimal asc', [{ column: 'dec' }, { column: 'id' }], 'dec NULLS LAST, id'],
      ['bigint desc', [{ column: 'big', desc: true }, { column: 'id' }], 'big DESC NULLS LAST, id'],
      ['date, timestamp desc', [{ column: 'd' }, { column: 'ts', desc: true }, { column: 'id' }], 'd NULLS LAST, ts DESC, id'],
      ['text by code point', [{ column: 'txt' }, { column: 'id', desc: true }], 'txt COLLATE "C" NULLS LAST, id DESC'],
      ['float, bool', [{ column: 'flag', desc: true }, { column: 'f' }, { column: 'id' }], 'flag DESC, f NULLS LAST, id'],
    ];
    for (const [what, orderBy, sql] of orders) {
      test(`order_by ${what} over the whole result equals ORDER BY in PostgreSQL`, async () => {
        const got = await pageAll(c, { result_id: id, order_by: orderBy, columns: ['id', 'big', 'dec', 'd', 'ts', 'txt', 'flag', 'f'] }, 5000);
        assert.deepEqual(got.rows.map(r => r.map(norm)), await pgRows(`SELECT ${TEXT_COLS} FROM t ORDER BY ${sql}`));
      });
    }

    const filters: [string, unknown[], string][] = [
      ['decimal >= and contains', [{ column: 'dec', op: '>=', value: -2.5 }, { column: 'txt', op: 'contains', value: 'ab' }], `dec >= -2.5 AND strpos(txt, 'ab') > 0`],
      ['decimal = across scales', [{ column: 'dec', op: '=', value: '1.50' }], 'dec = 1.5'],
      ['bigint > past 2^53', [{ column: 'big', op: '>', value: '10000000000000000' }], 'big > 10000000000000000'],
      ['bigint in', [{ column: 'big', op: 'in', value: ['90071992547409', -90071992547409, '44945924281157091'] }], 'big IN (90071992547409, -90071992547409, 44945924281157091)'],
      ['date < and is_null', [{ column: 'd', op: '<', value: '1995-06-01' }, { column: 'f', op: 'is_null' }], `d < '1995-06-01' AND f IS NULL`],
      ['timestamp range', [{ column: 'ts', op: '>=', value: '2020-03-01T00:00:00Z' }, { column: 'ts', op: '<', value: '2020-03-02T12:00:00Z' }], `ts >= '2020-03-01T00:00:00Z' AND ts < '2020-03-02T12:00:00Z'`],
      ['text starts_with, not_null, !=', [{ column: 'txt', op: 'starts_with', value: 'z' }, { column: 'd', op: 'not_null' }, { column: 'flag', op: '!=', value: true }], `txt LIKE 'z%' AND d IS NOT NULL AND flag <> true`],
      ['float <=', [{ column: 'f', op: '<=', value: 3.5 }], 'f <= 3.5'],
    ];
    for (const [what, where, sql] of filters) {
      test(`where ${what} equals WHERE in PostgreSQL (exact matched count)`, async () => {
        const got = await pageAll(c, { result_id: id, where }, 5000);
        const expected = await pgRows(`SELECT ${TEXT_COLS} FROM t WHERE ${sql} ORDER BY id`);
        assert.ok(expected.length > 0, `${what}: the reference has rows`);
        assert.equal(got.matched, expected.length);
        assert.deepEqual(got.rows.map(r => r.map(norm)), expected);
      });
    }

    test('order_by with where and columns, paged from an offset', async () => {
      const r = await call(c, 'get_result', { result_id: id, where: [{ column: 'flag', op: '=', value: true }], order_by: [{ column: 'dec', desc: true }, { column: 'id' }], columns: ['id', 'dec'], offset: 1000, limit: 7 });
      const exp = await pgRows('SELECT id::text AS i, dec::text AS x FROM t WHERE flag ORDER BY dec DESC NULLS LAST, id OFFSET 1000 LIMIT 7');
      const t = r.structuredContent!.tables[0];
      assert.deepEqual(t.rows.map(x => x.map(norm)), exp);
      assert.equal(t.total_rows, N / 5);
      assert.match(r.text, /rows 1,001–1,007 of 25,000 \(matched 5,000 where flag = true\), ordered by dec desc, id\. Next: offset=1,007\./);
    });

    test('describe equals SQL aggregates over the whole result', async () => {
      const r = await call(c, 'get_result', { result_id: id, describe: true });
      assert.notEqual(r.isError, true, r.text);
      const t = r.structuredContent!.tables[0];
      const col = (name: string) => Object.fromEntries(t.columns.map((x, i) => [x.name, t.rows.find(row => row[0] === name)![i]]));
      for (const [name, minmax] of [['big', 'big'], ['dec', 'dec'], ['d', 'd'], ['txt', 'txt COLLATE "C"'], ['f', 'f'], ['id', 'id']] as const) {
        const [e] = await pgRows(`SELECT count(${name})::text, (count(*) - count(${name}))::text, count(DISTINCT ${name})::text, min(${minmax})::text, max(${minmax})::text,
          ${['d', 'txt'].includes(name) ? 'NULL, NULL' : `avg(${name})::float8::text, stddev_samp(${name})::float8::text`} FROM t`);
        const s = col(name);
        assert.equal(String(s.count), e[0], `${name} count`);
        assert.equal(String(s.nulls), e[1], `${name} nulls`);
        assert.equal(String(s.distinct), e[2], `${name} distinct`);
        assert.equal(s.distinct_exact, true);
        // equal values of a numeric column may differ in scale ("1.5", "1.50"): min/max compare by value there
        const same = (a: unknown, b: string | null) => name === 'dec' ? compareDecimal(String(a), String(b)) === 0 : a === b;
        assert.ok(same(s.min, e[3]), `${name} min ${s.min} vs ${e[3]}`);
        assert.ok(same(s.max, e[4]), `${name} max ${s.max} vs ${e[4]}`);
        if (e[5] !== null) {
          assert.ok(Math.abs(Number(s.mean) - Number(e[5])) <= 1e-9 * Math.max(1, Math.abs(Number(e[5]))), `${name} mean ${s.mean} vs ${e[5]}`);
          assert.ok(Math.abs(Number(s.stddev) - Number(e[6])) <= 1e-9 * Math.max(1, Math.abs(Number(e[6]))), `${name} stddev ${s.stddev} vs ${e[6]}`);
        }
      }
      // top values of a text column: the most frequent, with their counts
      const [top] = await pgRows('SELECT txt, count(*)::text FROM t WHERE txt IS NOT NULL GROUP BY txt ORDER BY count(*) DESC, txt COLLATE "C" LIMIT 1');
      assert.ok(String(col('txt').top_values).startsWith(`${top[0]} (${top[1]})`), String(col('txt').top_values));
    });

    test('save_as writes the whole filtered, sorted, selected result; DuckDB reads back the same rows', async () => {
      const args = { result_id: id, where: [{ column: 'dec', op: '<', value: 0 }], order_by: [{ column: 'big', desc: true }, { column: 'id' }], columns: ['id', 'big', 'dec', 'txt', 'ts'] };
      const exp = await pgRows(`SELECT id::text AS i, big::text AS b, dec::text AS x, txt AS y, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS z FROM t WHERE dec < 0 ORDER BY big DESC NULLS LAST, id`);
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      try {
        const csv = await call(c, 'get_result', { ...args, save_as: `neg-${mode}.csv` });
        assert.notEqual(csv.isError, true, csv.text);
        const file = path.join(defaultWorkDir([c.dir]), 'results', `neg-${mode}.csv`);
        assert.match(csv.text, new RegExp(`saved ${exp.length.toLocaleString('en-US')} rows`));
        const back = await con.runAndReadAll(`SELECT * FROM read_csv('${file}', all_varchar = true, header = true)`);
        assert.deepEqual(back.getRows().map(r => r.map(v => v === null ? null : String(v))), exp);
        const pq = await call(c, 'get_result', { ...args, columns: ['id', 'big', 'txt'], save_as: `neg-${mode}.parquet` });
        assert.notEqual(pq.isError, true, pq.text);
        const pback = await con.runAndReadAll(`SELECT id::VARCHAR, big::VARCHAR, txt FROM read_parquet('${path.join(defaultWorkDir([c.dir]), 'results', `neg-${mode}.parquet`)}')`);
        assert.deepEqual(pback.getRows().map(r => r.map(v => v === null ? null : String(v))), exp.map(r => [r[0], r[1], r[3]]));
        // a role without files.write saves only plain names into the results folder
        const refused = await call(c, 'get_result', { result_id: id, save_as: path.join(c.dir, 'x.csv') });
        assert.equal(refused.isError, true);
        assert.match(refused.text, /cannot write files; save_as takes a plain file name/);
      } finally { con.closeSync?.(); }
    });
  });
}

describe('results from files, eviction, MCP protocol', () => {
  test('a CSV file result pages back every row exactly once, equal to the file (memory and spilled)', async () => {
    for (const extra of [{}, { DATATOOLS_RESULT_MEMORY_MB: '0' }] as Record<string, string>[]) {
      const c = await server(extra);
      try {
        const lines = ['id,name,amount,day'];
        const src: string[][] = [];
        for (let i = 1; i <= N; i++) {
          const row = [String(i), i % 9 === 0 ? '' : `n${(i * 13) % 997} "q"`, `${(i * 7) % 1000 - 500}.${String(i % 100).padStart(2, '0')}`, `2024-${String(1 + i % 12).padStart(2, '0')}-${String(1 + i % 28).padStart(2, '0')}`];
          src.push(row);
          lines.push(row.map(v => /[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v).join(','));
        }
        const file = path.join(c.dir, 'big.csv');
        fs.writeFileSync(file, `${lines.join('\n')}\n`);
        const r = await call(c, 'read_csv', { file_path: file, n_rows: 30_000 });
        assert.notEqual(r.isError, true, r.text);
        const id = /Result (r[0-9a-z]+): 25,000 rows × 4 columns stored/.exec(r.text)?.[1];
        assert.ok(id, r.text.slice(-400));
        const all = await pageAll(c, { result_id: id }, 5000);
        assert.deepEqual(all.rows.map(row => row.map(v => v === null ? '' : String(v))), src);
        const sorted = await pageAll(c, { result_id: id, order_by: [{ column: 'amount' }, { column: 'id' }] }, 5000);
        const bySrc = [...src].sort((a, b) => compareDecimal(a[2], b[2]) || Number(a[0]) - Number(b[0]));
        assert.deepEqual(sorted.rows.map(row => row.map(v => v === null ? '' : String(v))), bySrc);
      } finally { await c.close(); }
    }
  });

  test('evicted and unknown results give a clear tool error; disk budget evicts oldest first', async () => {
    const c = await server({ DATATOOLS_RESULT_IDLE_SECONDS: '1' });
    try {
      const r = await call(c, 'execute_query', { query: 'SELECT 1 AS x' });
      const id = /Result (r[0-9a-z]+)/.exec(r.text)![1];
      assert.equal((await call(c, 'get_result', { result_id: id })).isError, undefined);
      await new Promise(res => setTimeout(res, 1500));
      const gone = await call(c, 'get_result', { result_id: id });
      assert.equal(gone.isError, true);
      assert.match(gone.text, new RegExp(`No stored result \`${id}\`: results are kept for 1 s after their last use .* Re-run the tool that produced it`));
      const unknown = await call(c, 'get_result', { result_id: 'rnope00' });
      assert.match(unknown.text, /No stored result `rnope00`/);
      await assert.rejects(c.client.readResource({ uri: 'datatools://results/rnope00' }), (e: { code?: number; message: string }) => e.code === -32002 && /No stored result/.test(e.message));
    } finally { await c.close(); }
    const d = await server({ DATATOOLS_RESULT_MEMORY_MB: '0', DATATOOLS_RESULT_DISK_MB: '1' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call(d, 'execute_query', { query: `SELECT g, md5(g::text) || md5((g+${i})::text) AS h FROM generate_series(1, 6000) g` });
        ids.push(/Result (r[0-9a-z]+)/.exec(r.text)![1]);
      }
      assert.equal((await call(d, 'get_result', { result_id: ids[0] })).isError, true, 'the oldest result is evicted past the disk budget');
      assert.equal((await call(d, 'get_result', { result_id: ids[2] })).isError, undefined);
      const huge = await call(d, 'execute_query', { query: 'SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g' });
      assert.match(huge.text, /could not be stored for paging \(it is larger than the result store's disk budget of 1 MB/);
    } finally {
      await d.close();
      await new Promise(res => setTimeout(res, 300));
      assert.deepEqual(fs.existsSync(path.join(defaultWorkDir([d.dir]), '.results')) ? fs.readdirSync(path.join(defaultWorkDir([d.dir]), '.results')) : [], [], 'spill files removed on exit');
    }
  });

  test('MCP: outputSchema validated by the client, reply size bounded, progress notifications, malformed arguments', async () => {
    const c = await server();
    try {
      const tools = await c.client.listTools();
      assert.ok(tools.tools.every(t => t.outputSchema?.type === 'object'));
      // the client validates structuredContent against the outputSchema: a mismatch would reject here
      for (const [name, args] of [['list_tables', {}], ['execute_query', { query: 'SELECT 1' }], ['get_environment', {}]] as const) {
        const r = await call(c, name, args);
        assert.notEqual(r.isError, true, `${name}: ${r.text}`);
        assert.ok(Array.isArray(r.structuredContent?.tables));
      }
      const size = async (n: number) => JSON.stringify(await c.client.callTool({ name: 'execute_query', arguments: { query: `SELECT g, g * 2 AS h, md5(g::text) AS m FROM generate_series(1, ${n}) g` } })).length;
      const small = await size(100), big = await size(10_000);
      assert.ok(big / small <= 1.5, `reply of 10,000 rows is ${big} bytes vs ${small} for 100 rows (ratio ${(big / small).toFixed(2)})`);
      const events: { progress: number; message?: string }[] = [];
      const py = await c.client.callTool({ name: 'execute_code', arguments: { code: 'import time\nfor i in range(3):\n    print("step", i, flush=True)\n    time.sleep(0.3)' } },
        undefined, { onprogress: p => events.push(p), timeout: 60_000 }) as Reply;
      assert.notEqual(py.isError, true, JSON.stringify(py.content).slice(0, 400));
      assert.ok(events.length >= 1 && events.some(e => /step/.test(e.message ?? '')), JSON.stringify(events));
      // arguments that are not a JSON object: JSON-RPC invalid params; a schema violation: a tool error the model can fix
      for (const bad of [[1, 2], 'SELECT 1', 7]) {
        await assert.rejects(c.client.request({ method: 'tools/call', params: { name: 'execute_query', arguments: bad as unknown as Record<string, unknown> } }, CallToolResultSchema),
          (e: { code?: number; message: string }) => e.code === -32602 && e.message.length < 1000, `arguments ${JSON.stringify(bad)}`);
      }
      const invalid = await call(c, 'get_result', { result_id: 'r1', limit: -1, where: [{ column: 'x', op: 'like' }] });
      assert.equal(invalid.isError, true);
      assert.match(invalid.text, /limit|op/);
    } finally { await c.close(); }
  });
});

test('the store in a Tokyo-time process: spill round-trip of every value kind, exact decimal order, code point order', () => {
  // the store's logic must not depend on the host's zone: run this file's store checks again under TZ=Asia/Tokyo
  const script = `
    const { ResultStore } = require(${JSON.stringify(path.resolve(__dirname, '../../src/core/store.js'))});
    const assert = require('node:assert/strict');
    (async () => {
      const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'dt-store-'));
      const s = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes: 0, diskBytes: 1e9, idleSeconds: 3600 }) });
      const rows = [
        [1n << 70n, '-123.450', new Uint8Array([0, 255, 10]), [1, [2n, null], { a: 'x' }], Number.NaN, '{"a": 1e400}', '2020-01-01', '-0044-03-15', 'z\\u{1F600}'],
        [-(1n << 63n), '1.5', new Uint8Array([]), [], Number.POSITIVE_INFINITY, null, '1999-12-31', '0001-01-01', 'z\\uFFFD'],
        [0n, '1.50', null, null, -0, '[]', null, '-1000-01-01', null],
        [5n, '-0.001', new Uint8Array([1]), [null], Number.NEGATIVE_INFINITY, 'null', '2020-01-01', '2000-01-01', 'a'],
      ];
      const cols = ['b', 'dec', 'bytes', 'nested', 'f', 'j', 'd', 'old', 't'].map((name, i) => ({ name, type: ['int8', 'numeric', 'bytea', 'jsonb[]', 'float8', 'jsonb', 'date', 'date', 'text'][i] }));
      const info = await s.put('test', { kind: 'table', columns: cols, rows, truncated: false });
      assert.equal(info.where, 'disk');
      const p = await s.page(info.id, { limit: 10 });
      assert.deepEqual(p.rows, rows);
      assert.ok(Object.is(p.rows[2][4], -0));
      const order = async (column, desc) => (await s.page(info.id, { orderBy: [{ column, desc }], columns: [column] })).rows.map(r => r[0]);
      assert.deepEqual(await order('dec'), ['-123.450', '-0.001', '1.5', '1.50']);
      assert.deepEqual(await order('f'), [Number.NEGATIVE_INFINITY, -0, Number.POSITIVE_INFINITY, Number.NaN]);
      assert.deepEqual(await order('old'), ['-1000-01-01', '-0044-03-15', '0001-01-01', '2000-01-01']);
      assert.deepEqual(await order('t'), ['a', 'z\\uFFFD', 'z\\u{1F600}', null]);
      assert.deepEqual(await order('b', true), [1n << 70n, 5n, 0n, -(1n << 63n)]);
      const d = await s.describe(info.id, ['dec']);
      assert.equal(d.columns[0].distinct, 3, '1.5 and 1.50 are one value');
      await s.dispose();
      assert.equal(require('node:fs').readdirSync(require('node:path').join(dir, '.results')).length, 0);
      process.stdout.write('ok ' + new Date(0).getTimezoneOffset());
    })().catch(e => { console.error(e); process.exit(1); });`;
  for (const tz of ['Asia/Tokyo', 'America/New_York']) {
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(r.status, 0, `${tz}: ${r.stderr}`);
    assert.match(r.stdout, /^ok -?\d+/);
  }
  assert.ok(ResultStore);
});

test('the store: older results move to disk when a new one needs the memory; pages and sorts read back exactly; idle results expire', async () => {
  const dir = tmpDir('store');
  let now = 1_000_000;
  const s = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes: 3_000_000, diskBytes: 1e9, idleSeconds: 60 }), now: () => now });
  const make = (k: number) => Array.from({ length: 20_000 }, (_, i) => [i, BigInt(i) * 10n ** 15n + BigInt(k), `${k}-${(i * 7919) % 20_000}`, i % 3 ? `${i % 50}.${k}0` : null]);
  const cols = [{ name: 'i', type: 'int4' }, { name: 'b', type: 'int8' }, { name: 's', type: 'text' }, { name: 'd', type: 'numeric' }];
  const a = await s.put('t', { kind: 'table', columns: cols, rows: make(1), truncated: false });
  assert.equal(a.where, 'memory');
  const b = await s.put('t', { kind: 'table', columns: cols, rows: make(2), truncated: false });
  assert.equal((await s.info(a.id)).where, 'disk', 'the older result was spilled to make room');
  assert.equal((await s.info(b.id)).where, 'memory');
  assert.ok(s.usage().memoryBytes <= 3_000_000 && s.usage().diskBytes > 0);
  for (const [id, k] of [[a.id, 1], [b.id, 2]] as const) {
    const rows: unknown[][] = [];
    for await (const chunk of s.scan(id)) rows.push(...chunk);
    assert.deepEqual(rows, make(k));
    const p = await s.page(id, { offset: 19_990, limit: 50, orderBy: [{ column: 'd', desc: true }, { column: 'i' }], columns: ['i', 'd'] });
    const ref = make(k).filter(r => r[3] !== null).sort((x, y) => compareDecimal(String(y[3]), String(x[3])) || (x[0] as number) - (y[0] as number))
      .concat(make(k).filter(r => r[3] === null)).map(r => [r[0], r[3]]);
    assert.equal(p.matched, 20_000);
    assert.deepEqual(p.rows, ref.slice(19_990, 20_040));
  }
  now += 61_000;
  await assert.rejects(s.info(a.id), /No stored result `r[0-9a-z]+`: results are kept for 1 min after their last use/);
  assert.equal(s.usage().results, 0);
  await s.dispose();
});

test('the store: search (the grid\'s filter box) keeps rows where some column\'s text contains the needle, ignoring case, in page, sort, describe and scan (memory and spilled)', async () => {
  const dir = tmpDir('store-search');
  const cols = [{ name: 'i', type: 'int4' }, { name: 'city', type: 'text' }, { name: 'amount', type: 'numeric' }, { name: 'b', type: 'int8' }];
  const rows = Array.from({ length: 30_000 }, (_, i) => [i, i % 17 === 0 ? null : `City${i % 9}`, `${(i * 37) % 1000}.${i % 10}0`, BigInt(i) * 10n ** 12n]);
  for (const memoryBytes of [1e9, 1_000]) {
    const s = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes, diskBytes: 1e9, idleSeconds: 60 }) });
    const info = await s.put('t', { kind: 'table', columns: cols, rows, truncated: false });
    assert.equal(info.where, memoryBytes > 1e6 ? 'memory' : 'disk');
    // 'city3' ignoring case; '99.9' in the decimals' text; '000000000000' in every bigint past 0 (…×10^12)
    for (const needle of ['city3', 'CITY3', '99.9', '7000000000000', 'no such text']) {
      const want = rows.filter(r => r.some(v => v !== null && String(v).toLowerCase().includes(needle.toLowerCase())));
      const p = await s.page(info.id, { offset: 0, limit: 100_000, search: needle });
      assert.equal(p.matched, want.length, needle);
      assert.deepEqual(p.rows, want, needle);
      const sorted = await s.page(info.id, { offset: 5, limit: 10, search: needle, orderBy: [{ column: 'i', desc: true }] });
      assert.deepEqual(sorted.rows, [...want].reverse().slice(5, 15), `${needle} sorted`);
      const d = await s.describe(info.id, ['i'], undefined, needle);
      assert.equal(d.matched, want.length);
      assert.equal(d.columns[0].count, want.length);
      const scanned: unknown[][] = [];
      for await (const c of s.scan(info.id, { search: needle })) scanned.push(...c);
      assert.deepEqual(scanned, want);
    }
    assert.ok((await s.page(info.id, { search: 'city3' })).matched > 0, 'the needle matches some rows (the test can fail)');
    await s.dispose();
  }
});
