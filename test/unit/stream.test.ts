import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { configFromEnv } from '../../src/core/config';
import { ToolHost } from '../../src/core/host';
import { runQuery } from '../../src/core/db/service';
import type { TablePart } from '../../src/core/result';
import type { ToolContext } from '../../src/core/tool';

// Issue 15: a query's rows are streamed (the grid shows the first rows while the rest arrives). The batches must be
// exactly the rows of the non-streamed result, in order, whatever stops the query (max_rows, the byte budget, an
// error mid-stream), and the store's growing result must end as the same result id the call names.

const N = 50_000;
let pg: PgCluster;
let url: string;

// values that expose a mistake: numerics of several scales, bigints past 2^53, timestamps with and without zone,
// bytea, jsonb with a big number, NULLs in every column
const TABLE_SQL = `
CREATE TABLE s AS SELECT g AS id,
  CASE WHEN g % 19 = 0 THEN NULL ELSE (g % 5000)::bigint * 900719925474099 + g END AS big,
  CASE WHEN g % 11 = 0 THEN NULL ELSE round((g * 37 % 20000 - 10000)::numeric / 1000, g % 4) END AS dec,
  CASE WHEN g % 13 = 0 THEN NULL ELSE timestamp '1999-12-31 23:59:59.123456' + g * interval '1 hour 1.5 second' END AS ts,
  CASE WHEN g % 7 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00:00+09' + g * interval '17 minutes' END AS tstz,
  CASE WHEN g % 17 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0'), 'hex') END AS bin,
  CASE WHEN g % 23 = 0 THEN NULL ELSE ('{"n": 12345678901234567890' || g || ', "g": ' || g || '}')::jsonb END AS js,
  (g % 5 = 0) AS flag
FROM generate_series(1, ${N}) g`;

before(async () => {
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE st');
  url = pg.adminUrl.replace(/\/postgres$/, '/st');
  psql(url, TABLE_SQL);
});
after(() => pg?.stop());

function host(env: Record<string, string> = {}): ToolHost {
  const dir = tmpDir('stream');
  return new ToolHost(configFromEnv({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'),
    DATABASE_URL: url, DATATOOLS_MAX_ROWS: '100000', ...env }));
}

/** runQuery with and without the streaming channel. */
async function both(h: ToolHost, query: string, maxRows: number): Promise<{ whole: unknown[][]; streamed: unknown[][]; batches: number; final: unknown[][]; columnsSeen: string[]; columnsFinal: string[] }> {
  const ctx = h.context();
  const whole = (await runQuery(ctx, { query, maxRows, timeoutSec: 60 })).rows;
  const batches: unknown[][][] = [];
  let columnsSeen: string[] = [];
  const sctx: ToolContext = { ...h.context(), onRows: e => { batches.push(e.rows); columnsSeen = e.columns.map(c => `${c.name}:${c.type}`); } };
  const out = await runQuery(sctx, { query, maxRows, timeoutSec: 60 });
  return { whole, streamed: batches.flat(), batches: batches.length, final: out.rows, columnsSeen, columnsFinal: out.columns.map(c => `${c.name}:${c.type}`) };
}

describe('streamed query rows', () => {
  test('the batches concatenate to exactly the rows of the non-streamed result (numerics, bigints past 2^53, timestamps, bytea, jsonb, NULLs)', async () => {
    const h = host();
    try {
      const r = await both(h, 'SELECT * FROM s ORDER BY id', 100_000);
      assert.equal(r.whole.length, N);
      assert.ok(r.batches >= 3, `rows arrived in ${r.batches} batches`);
      assert.deepStrictEqual(r.streamed, r.whole);
      assert.deepStrictEqual(r.final, r.whole);
      // the columns streamed with the first rows are the final result's columns (named before the rows arrived)
      assert.deepStrictEqual(r.columnsSeen, r.columnsFinal);
      assert.deepStrictEqual(r.columnsSeen, ['id:integer', 'big:bigint', 'dec:numeric', 'ts:timestamp without time zone', 'tstz:timestamp with time zone', 'bin:bytea', 'js:jsonb', 'flag:boolean']);
      // spot checks that the values are in the value model, not only equal to each other
      const row = r.whole[99] as unknown[];
      assert.equal(row[1], 100n * 900719925474099n + 100n);
      assert.ok(row[5] instanceof Uint8Array);
      assert.match(String(row[4]), /Z$/);
      assert.equal(r.whole[18][1], null);
    } finally { await h.services.dispose(); }
  });

  test('max_rows: the streamed rows stop at exactly max_rows (the extra row that says there are more is never streamed)', async () => {
    const h = host();
    try {
      for (const max of [999, 1000, 1001, 21_000, 21_001]) {
        const r = await both(h, 'SELECT * FROM s ORDER BY id', max);
        assert.equal(r.whole.length, max);
        assert.deepStrictEqual(r.streamed, r.whole, `max_rows ${max}`);
      }
    } finally { await h.services.dispose(); }
  });

  test('backpressure: while the consumer of the first batch is busy (a promise), no more rows are read; then all arrive, exactly', async () => {
    const h = host();
    try {
      const batches: unknown[][][] = [];
      let during = -1;
      const out = await runQuery({ ...h.context(), onRows: e => {
        batches.push(e.rows);
        if (batches.length > 1) return;
        // the first rows are being painted: a pause of 300 ms, then what arrived meanwhile is counted
        return new Promise<void>(r => setTimeout(() => { during = batches.length - 1; r(); }, 300));
      } }, { query: 'SELECT * FROM s ORDER BY id', maxRows: 100_000, timeoutSec: 60 });
      assert.equal(during, 0, 'no batch arrived while the first was being consumed');
      assert.ok(batches.length >= 3);
      assert.deepStrictEqual(batches.flat(), out.rows);
      assert.equal(out.rows.length, N);
    } finally { await h.services.dispose(); }
  });

  test('the byte budget mid-stream: the streamed rows are exactly the rows kept before the stop', async () => {
    const h = host({ DATATOOLS_MAX_RESULT_MB: '2' });
    try {
      const q = `SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 100000) g`;
      const ctx = h.context();
      const batches: unknown[][][] = [];
      const out = await runQuery({ ...ctx, onRows: e => { batches.push(e.rows); } }, { query: q, maxRows: 100_000, timeoutSec: 60 });
      assert.ok(out.stopped, 'stopped at the byte budget');
      assert.ok(out.rows.length > 1000 && out.rows.length < 100_000, `${out.rows.length} rows`);
      assert.deepStrictEqual(batches.flat(), out.rows);
    } finally { await h.services.dispose(); }
  });

  test('through the host: the result id is open while rows arrive, page serves the rows so far, the final result names the same id', async () => {
    const h = host();
    try {
      const seen: { id: string; rows: number; stored: number; loading?: boolean }[] = [];
      const pages: Promise<void>[] = [];
      const r = await h.call('execute_query', { query: 'SELECT * FROM s ORDER BY id' }, {
        caller: 'test',
        onRows: e => {
          seen.push({ id: e.resultId, rows: e.rows, stored: 0 });
          const at = seen.length - 1;
          pages.push(h.results.info(e.resultId).then(i => { seen[at].stored = i.rows; seen[at].loading = i.loading; }));
        },
      });
      await Promise.all(pages);
      assert.notEqual(r.isError, true, r.text);
      const t = r.parts.find((p): p is TablePart => p.kind === 'table')!;
      assert.ok(seen.length >= 3);
      assert.equal(seen[0].rows, 1000);
      assert.ok(seen.every(s => s.id === t.resultId), 'one result id from the first rows to the end');
      assert.ok(seen[0].loading, 'the result says it is still loading');
      assert.equal(seen[seen.length - 1].rows, N);
      const info = await h.results.info(t.resultId!);
      assert.equal(info.loading, undefined);
      assert.equal(info.rows, N);
      const all = await h.results.page(t.resultId!, { limit: N });
      const ref = await runQuery(h.context(), { query: 'SELECT * FROM s ORDER BY id', maxRows: N, timeoutSec: 60 });
      assert.deepStrictEqual(all.rows, ref.rows);
    } finally { await h.services.dispose(); }
  });

  test('an error mid-stream: the call is an error, the rows received stay in the store, labelled with what stopped them', async () => {
    const h = host();
    try {
      let id: string | undefined;
      let received = 0;
      let sortedEarly: Promise<unknown> | undefined;
      const r = await h.call('execute_query', { query: 'SELECT g, 100 / (40000 - g) AS x FROM generate_series(1, 50000) g' }, {
        caller: 'test',
        onRows: e => {
          id = e.resultId; received = e.rows;
          // a sort asked for while rows arrive waits for the whole result (here: the rows kept after the failure)
          sortedEarly ??= h.results.page(e.resultId, { orderBy: [{ column: 'g', desc: true }], limit: 1 });
        },
      });
      assert.equal(r.isError, true);
      assert.match(r.text, /22012|division by zero/);
      assert.ok(id && received >= 1000, `rows received before the error: ${received}`);
      const info = await h.results.info(id);
      assert.equal(info.loading, false);
      assert.match(info.failed ?? '', /division by zero/);
      assert.equal(info.rows, received);
      const p = await h.results.page(id, { offset: 0, limit: received });
      assert.deepStrictEqual(p.rows.map(x => x[0]), Array.from({ length: received }, (_, i) => i + 1));
      const s = await sortedEarly as { rows: unknown[][]; matched: number };
      assert.equal(s.matched, received);
      assert.equal(s.rows[0][0], received);
    } finally { await h.services.dispose(); }
  });

  test('redaction: a secret in streamed rows is redacted in the store while they arrive and in the rows kept after a failure', async () => {
    // the connection's password is a known secret; a query that selects it (upper-cased: redaction ignores case)
    // (the throwaway cluster trusts loopback: the password is sent only if asked, so the query runs as before)
    const h = host({ DATABASE_URL: url.replace('://postgres@', '://postgres:Sw0rdfish-9931@') });
    assert.match(h.config.databaseUrl ?? '', /:Sw0rdfish-9931@/, 'the password is in the connection URL');
    try {
      const seen: string[] = [];
      let id: string | undefined;
      const r = await h.call('execute_query', { query: "SELECT g, 'pw=' || upper('Sw0rdfish-9931') AS note, 100 / (30000 - g) AS x FROM generate_series(1, 40000) g" }, {
        caller: 'test',
        onRows: async e => {
          id = e.resultId;
          const p = await h.results.page(e.resultId, { offset: 0, limit: 2 });
          seen.push(String(p.rows[0][1]));
        },
      });
      assert.equal(r.isError, true);
      assert.ok(id && seen.length >= 1);
      for (const v of seen) { assert.doesNotMatch(v, /sw0rdfish/i); assert.match(v, /^pw=/); }
      const kept = await h.results.page(id, { offset: 0, limit: 100_000 });
      assert.ok(kept.rows.length >= 1000);
      assert.equal(kept.rows.filter(x => /sw0rdfish/i.test(String(x[1]))).length, 0, 'no kept row holds the secret');
    } finally { await h.services.dispose(); }
  });

  test('MCP: execute_query sends progress notifications with the rows received so far', async () => {
    const dir = tmpDir('stream-mcp');
    const c = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir, DATABASE_URL: url, DATATOOLS_MAX_ROWS: '100000' });
    try {
      const progress: { progress: number; message?: string }[] = [];
      const r = await c.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT * FROM s ORDER BY id', max_rows: 45_000 } }, undefined,
        { timeout: 120_000, onprogress: p => progress.push(p) }) as { isError?: boolean; content: { text?: string }[] };
      assert.notEqual(r.isError, true, r.content[0]?.text);
      const counts = progress.map(p => Number(/([\d,]+) rows received/.exec(p.message ?? '')?.[1].replace(/,/g, '')));
      assert.ok(counts.length >= 2, `progress: ${JSON.stringify(progress)}`);
      assert.equal(counts[0], 1000);
      assert.equal(counts[counts.length - 1], 45_000);
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1]);
      // without a progress token nothing is streamed, and the reply is the same
      const r2 = await c.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT * FROM s ORDER BY id', max_rows: 45_000 } }, undefined, { timeout: 120_000 }) as { content: { text?: string }[] };
      const head = (x: { content: { text?: string }[] }) => x.content[0]?.text?.split('\n')[0].replace(/\d+ ms/, '');
      assert.equal(head(r2), head(r));
      assert.match(head(r) ?? '', /^45,000 rows returned in/);
    } finally { await c.close(); }
  });
});
