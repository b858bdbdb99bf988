import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { configFromEnv } from '../../src/core/config';
import { ToolHost } from '../../src/core/host';
import { runQuery } from '../../src/core/db/service';
import { ResultStore } from '../../src/core/store';
import type { ColumnInfo } from '../../src/core/result';
import { binOf, chartData, columnHistograms, HISTOGRAM_BINS, LINE_POINTS, MAX_BARS, widestValue, WIDEST_CHARS, type HistogramData, type LineData } from '../../src/core/chartData';

// Issue 15: a chart or a fitted column width of a big result covers the WHOLE result held in the result store, not
// the rows the grid has loaded. Computed over a real PostgreSQL table's rows (in the value model: bigints, decimal
// strings, floats, text), in memory and spilled to disk, and compared with what PostgreSQL computes itself:
// width_bucket/count for the bins, min/max per bucket for a downsampled line, ORDER BY ... LIMIT for the bars,
// length() for the widest value.

const N = 50_000;
let pg: PgCluster;
let url: string;
let ref: PgClient;
let columns: ColumnInfo[];
let rows: unknown[][];

// v is scrambled (7919 is prime, coprime to 100003) with a NULL every 97th row; dec has several scales; f is float8
// with irrational parts (bin edges are not round numbers); h is md5 (the filter box's text); s holds its longest
// value far beyond any first window of rows
const TABLE_SQL = `
CREATE TABLE c AS SELECT g AS id,
  CASE WHEN g % 97 = 0 THEN NULL ELSE (g::bigint * 7919) % 100003 END AS v,
  CASE WHEN g % 11 = 0 THEN NULL ELSE round(((g * 37) % 20000 - 10000)::numeric / 7, g % 4) END AS dec,
  CASE WHEN g % 23 = 0 THEN NULL ELSE (g % 500)::float8 / 3 + sin(g) END AS f,
  md5(g::text) AS h,
  CASE WHEN g = 41234 THEN repeat('w', 3000) WHEN g = 30000 THEN repeat('é', 150) WHEN g % 13 = 0 THEN NULL ELSE 'row ' || g END AS s
FROM generate_series(1, ${N}) g`;

before(async () => {
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE ch');
  url = pg.adminUrl.replace(/\/postgres$/, '/ch');
  psql(url, TABLE_SQL);
  ref = new PgClient({ connectionString: url });
  await ref.connect();
  const dir = tmpDir('chartdata');
  const h = new ToolHost(configFromEnv({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'),
    DATABASE_URL: url, DATATOOLS_MAX_ROWS: String(N) }));
  try {
    const out = await runQuery(h.context(), { query: 'SELECT * FROM c ORDER BY id', maxRows: N, timeoutSec: 60 });
    columns = out.columns;
    rows = out.rows;
  } finally { await h.services.dispose(); }
  assert.equal(rows.length, N);
  assert.equal(typeof rows[0][1], 'bigint', 'v is an int8 column: bigint in the value model');
  assert.equal(typeof rows[1][2], 'string', 'dec is numeric: exact text in the value model');
});
after(async () => { await ref?.end(); pg?.stop(); });

async function sql(text: string): Promise<unknown[][]> {
  return (await ref.query({ text, rowMode: 'array' })).rows as unknown[][];
}

/** PostgreSQL's 20 bins of `expr` over the rows `where` holds, as width_bucket counts them (the maximum in the last). */
async function sqlBins(expr: string, where = 'true', bins = HISTOGRAM_BINS): Promise<number[]> {
  const r = await sql(`WITH m AS (SELECT min(${expr})::float8 lo, max(${expr})::float8 hi FROM c WHERE ${where})
    SELECT least(width_bucket((${expr})::float8, lo, hi, ${bins}), ${bins}) AS b, count(*)::int FROM c, m
    WHERE ${expr} IS NOT NULL AND ${where} GROUP BY b ORDER BY b`);
  const out = new Array<number>(bins).fill(0);
  for (const [b, n] of r) out[Number(b) - 1] = Number(n);
  return out;
}

/** Per bucket (1-based) of x: the smallest and largest y, from PostgreSQL over a view of (x, y) rows. */
async function sqlBuckets(view: string, buckets: number): Promise<Map<number, [number, number]>> {
  const r = await sql(`WITH v AS (${view}), m AS (SELECT min(x)::float8 lo, max(x)::float8 hi FROM v WHERE y IS NOT NULL)
    SELECT least(width_bucket(x::float8, lo, hi, ${buckets}), ${buckets}) AS b, min(y)::float8, max(y)::float8 FROM v, m WHERE y IS NOT NULL GROUP BY b ORDER BY b`);
  return new Map(r.map(([b, lo, hi]) => [Number(b), [Number(lo), Number(hi)]]));
}

/** The core's downsampled line, grouped back into its buckets: the smallest and largest y drawn in each. */
function lineBuckets(d: LineData): Map<number, [number, number]> {
  const xs = d.points.map(p => p[0]);
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const out = new Map<number, [number, number]>();
  for (const [x, y] of d.points) {
    const b = binOf(x, lo, hi, d.buckets!) + 1;
    const m = out.get(b);
    out.set(b, m ? [Math.min(m[0], y), Math.max(m[1], y)] : [y, y]);
  }
  return out;
}

for (const where of ['memory', 'disk'] as const) {
  describe(`chart data and widest values over the whole stored result (${where})`, () => {
    let store: ResultStore;
    let id: string;
    before(async () => {
      const dir = tmpDir(`chartdata-${where}`);
      store = new ResultStore({ workDir: () => dir, limits: () => ({ memoryBytes: where === 'memory' ? 1e9 : 0, diskBytes: 1e9, idleSeconds: 3600 }) });
      const info = await store.put('execute_query', { kind: 'table', columns, rows, truncated: false });
      assert.equal(info.where, where);
      id = info.id;
    });
    after(async () => { await store.dispose(); });

    test('histogram: 20 bins over every row, the same counts as PostgreSQL width_bucket (bigint, numeric and float8 columns)', async () => {
      for (const col of ['v', 'dec', 'f']) {
        // (the grid sends the x it shows for the other kinds, here a text column: a histogram does not read it)
        const d = await chartData(store, id, { kind: 'histogram', x: 'h', y: col }) as HistogramData;
        assert.equal(d.kind, 'histogram');
        assert.equal(d.rows, N);
        const [[count, lo, hi]] = await sql(`SELECT count(${col})::int, min(${col})::float8, max(${col})::float8 FROM c`);
        assert.equal(d.values, count, `${col}: every non-NULL value counted`);
        assert.equal(d.min, lo);
        assert.equal(d.max, hi);
        assert.deepEqual(d.bins, await sqlBins(col), `${col}: bin counts as width_bucket`);
      }
    });

    test('column statistics: a 16-bar histogram of each float column over the filtered rows, as width_bucket counts them; none for other columns', async () => {
      const d = await store.describe(id, undefined, undefined, 'ab');
      const hist = await columnHistograms(store, id, d, 'ab');
      const f = columns.findIndex(c => c.name === 'f');
      assert.deepEqual(hist[f], await sqlBins('f', "h LIKE '%ab%'", 16));
      assert.equal(hist[columns.findIndex(c => c.name === 'h')], undefined);
    });

    test('histogram in the grid\'s filter: the rows whose text contains "ab" (only md5 can), binned as PostgreSQL bins them', async () => {
      const d = await chartData(store, id, { kind: 'histogram', y: 'f', search: 'AB' }) as HistogramData;
      const [[matched]] = await sql("SELECT count(*)::int FROM c WHERE h LIKE '%ab%'");
      assert.equal(d.rows, matched);
      assert.ok(d.rows > 2000 && d.rows < N);
      assert.deepEqual(d.bins, await sqlBins('f', "h LIKE '%ab%'"));
      // the sort does not change a histogram
      assert.deepEqual((await chartData(store, id, { kind: 'histogram', y: 'f', search: 'ab', orderBy: [{ column: 'h', desc: true }] }) as HistogramData).bins, d.bins);
    });

    test('line over x = id: 50,000 points drawn as its ends and the minimum and maximum of f in each of 999 equal x ranges, as PostgreSQL computes them', async () => {
      const d = await chartData(store, id, { kind: 'line', x: 'id', y: 'f' }) as LineData;
      const [[count]] = await sql('SELECT count(f)::int FROM c');
      assert.equal(d.rows, N);
      assert.equal(d.values, count);
      assert.equal(d.buckets, LINE_POINTS / 2 - 1);
      assert.ok(d.points.length <= LINE_POINTS && d.points.length > LINE_POINTS / 2, `${d.points.length} points`);
      assert.deepEqual([d.points[0][0], d.points.at(-1)![0]], (await sql('SELECT min(id)::float8, max(id)::float8 FROM c WHERE f IS NOT NULL'))[0], 'the line spans the whole x range');
      for (let i = 1; i < d.points.length; i++) assert.ok(d.points[i][0] >= d.points[i - 1][0], 'ordered by x');
      const want = await sqlBuckets('SELECT id AS x, f AS y FROM c', d.buckets!);
      assert.deepEqual(lineBuckets(d), want);
      // the drawn line reaches the whole series' extremes
      const [[lo, hi]] = await sql('SELECT min(f), max(f) FROM c');
      assert.equal(Math.min(...d.points.map(p => p[1])), lo);
      assert.equal(Math.max(...d.points.map(p => p[1])), hi);
    });

    test('line over the row number in the grid\'s order (sorted by h, filtered by "ab"): min and max of v per bucket of row numbers, as PostgreSQL row_number() says', async () => {
      const d = await chartData(store, id, { kind: 'line', y: 'v', orderBy: [{ column: 'h' }], search: 'ab' }) as LineData;
      const [[matched, count]] = await sql("SELECT count(*)::int, count(v)::int FROM c WHERE h LIKE '%ab%'");
      assert.equal(d.rows, matched);
      assert.equal(d.values, count);
      assert.ok(d.buckets, 'more points than are drawn: downsampled');
      const want = await sqlBuckets(`SELECT row_number() OVER (ORDER BY h COLLATE "C") AS x, v AS y FROM c WHERE h LIKE '%ab%'`, d.buckets!);
      assert.deepEqual(lineBuckets(d), want);
    });

    test('a line of fewer points than the bound: every point, exactly, ordered by x', async () => {
      const d = await chartData(store, id, { kind: 'line', x: 'id', y: 'dec', search: 'abc' }) as LineData;
      const want = await sql("SELECT id::float8, dec::float8 FROM c WHERE h LIKE '%abc%' AND dec IS NOT NULL ORDER BY id");
      assert.ok(want.length > 50 && want.length < LINE_POINTS);
      assert.equal(d.buckets, undefined);
      assert.deepEqual(d.points, want);
      assert.equal(d.rows, Number((await sql("SELECT count(*) FROM c WHERE h LIKE '%abc%'"))[0][0]));
    });

    test('bar: the first bars in the grid\'s order (v descending), labels and values as PostgreSQL has them, and the count of all rows; at most 200 bars', async () => {
      const d = await chartData(store, id, { kind: 'bar', x: 'h', y: 'v', orderBy: [{ column: 'v', desc: true }], bars: 60 });
      assert.equal(d.kind, 'bar');
      if (d.kind !== 'bar') return;
      assert.equal(d.rows, N);
      const want = await sql('SELECT h, v::text AS vt FROM c ORDER BY c.v DESC NULLS LAST, c.id LIMIT 60');
      assert.deepEqual(d.labels.map((l, i) => [l, d.values[i]]), want);
      const many = await chartData(store, id, { kind: 'bar', y: 'dec', bars: 10_000 });
      assert.ok(many.kind === 'bar');
      if (many.kind !== 'bar') return;
      assert.equal(many.labels.length, MAX_BARS);
      assert.deepEqual(many.values, (await sql(`SELECT dec::text FROM c ORDER BY id LIMIT ${MAX_BARS}`)).map(r => r[0]));
      assert.deepEqual(many.labels.slice(0, 3), ['1', '2', '3'], 'no x column: the row number');
    });

    test('widest value: the longest text of a column over every row (beyond any first window), cut at 2,000 characters, with its length', async () => {
      const s = await widestValue(store, id, 's');
      const [[len, text]] = await sql('SELECT length(s), s FROM c ORDER BY length(s) DESC NULLS LAST, id LIMIT 1');
      assert.equal(s.length, len);
      assert.equal(s.length, 3000);
      assert.equal(s.text, String(text).slice(0, WIDEST_CHARS));
      assert.equal(s.rows, N);
      // the first longest value in the stored order, as text in the value model (numeric digits and scale; ids)
      for (const col of ['dec', 'id', 'h']) {
        const w = await widestValue(store, id, col);
        const [[t]] = await sql(`SELECT ${col}::text FROM c ORDER BY length(${col}::text) DESC NULLS LAST, id LIMIT 1`);
        assert.equal(w.text, t, col);
      }
      await assert.rejects(widestValue(store, id, 'nope'), /no column "nope"/);
    });
  });
}
