// TPC-H SF0.01 (test/corpora/tpch) in a real PostgreSQL: the 22 queries through execute_query (the MCP server
// spawned under TZ=Asia/Tokyo and TZ=America/New_York) equal the same queries run directly with `pg` reading the
// server's raw text, cell by cell: in the structured result, and in the model's text for the rows it shows.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { TPCH, TPCH_TABLES, loadTpch } from '../helpers/corpora';
import { cellText } from '../../src/core/values';

const QUERIES = fs.readdirSync(path.join(TPCH, 'queries')).filter(f => /^q\d\d\.sql$/.test(f)).sort();

let pg: PgCluster;
let url: string;
/** Each query's reference result: column names and the server's own text for every cell. */
const reference = new Map<string, { names: string[]; rows: (string | null)[][] }>();

before(async () => {
  assert.equal(QUERIES.length, 22, `the 22 TPC-H queries are in ${TPCH}/queries`);
  pg = await startPostgres();
  loadTpch(pg.adminUrl, 'tpch');
  url = pg.adminUrl.replace(/\/postgres$/, '/tpch');
  // the reference: `pg` directly, every type as the server's raw text
  const raw = new Client({ connectionString: url, types: { getTypeParser: () => (s: string) => s } });
  await raw.connect();
  try {
    for (const q of QUERIES) {
      const r = await raw.query({ text: fs.readFileSync(path.join(TPCH, 'queries', q), 'utf8'), rowMode: 'array' });
      reference.set(q, { names: r.fields.map(f => f.name), rows: r.rows as (string | null)[][] });
    }
  } finally { await raw.end(); }
});
after(() => pg?.stop());

test('the corpus loaded whole (row counts of SF0.01)', () => {
  const counts = psql(pg.adminUrl, `SELECT ${TPCH_TABLES.map(t => `(SELECT count(*) FROM ${t})`).join(" || ',' || ")}`, 'tpch');
  assert.equal(counts, '5,25,100,1500,2000,8000,15000,60175');
});

/** A structured value as the server would print it (dates, numerics and 64-bit integers are its text already). */
function asServerText(v: unknown): string | null {
  return v === null ? null : String(v);
}

for (const tz of ['Asia/Tokyo', 'America/New_York']) {
  describe(`TPC-H through execute_query under TZ=${tz}`, () => {
    let mcp: Awaited<ReturnType<typeof connectMcp>>;
    before(async () => {
      const dir = tmpDir('tpch');
      mcp = await connectMcp({ TZ: tz, DATABASE_URL: url, DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl') });
    });
    after(async () => { await mcp?.close(); });

    for (const q of QUERIES) {
      test(`${q} equals pg directly, cell by cell`, async () => {
        const ref = reference.get(q)!;
        const r = await mcp.client.callTool({ name: 'execute_query', arguments: { query: fs.readFileSync(path.join(TPCH, 'queries', q), 'utf8') } });
        const text = (r.content as { text: string }[])[0].text;
        assert.equal(r.isError, undefined, text);
        type T = { columns: { name: string; type: string }[]; rows: unknown[][]; truncated: boolean; result_id?: string; next_offset?: number | null; stored_rows?: number };
        const t = (r.structuredContent as { tables: T[] }).tables[0];
        // the reply inlines a first window; the rest is paged from the stored result with get_result, every row once
        const rows = [...t.rows];
        let next = t.next_offset;
        while (next !== null && next !== undefined) {
          assert.equal(next, rows.length, 'the next window starts where the last ended');
          const p = await mcp.client.callTool({ name: 'get_result', arguments: { result_id: t.result_id, offset: next, limit: 1000 } });
          assert.equal(p.isError, undefined, (p.content as { text: string }[])[0].text);
          const w = (p.structuredContent as { tables: T[] }).tables[0];
          assert.ok(w.rows.length > 0, 'a window before the end is not empty');
          rows.push(...w.rows);
          next = w.next_offset;
        }
        assert.equal(t.stored_rows, rows.length, 'paged rows = stored rows');
        t.rows = rows;
        assert.equal(t.truncated, t.rows.length > 100 ? true : false, 'the inlined window says it is cut when it is');
        assert.deepEqual(t.columns.map(c => c.name), ref.names);
        assert.equal(t.rows.length, ref.rows.length, 'row count');
        const diffs: string[] = [];
        t.rows.forEach((row, i) => row.forEach((v, j) => {
          if (asServerText(v) !== ref.rows[i][j]) diffs.push(`row ${i + 1} ${ref.names[j]} (${t.columns[j].type}): tool ${JSON.stringify(v)}, pg ${JSON.stringify(ref.rows[i][j])}`);
        }));
        assert.deepEqual(diffs.slice(0, 20), [], `${diffs.length} cells differ`);
        // the model's text: every row it shows is the server's text
        const lines = text.split('\n');
        const head = lines.indexOf(ref.names.join(' | '));
        assert.ok(head > 0, 'the text has the header line');
        const cut = /Showing ([\d,]+) rows? of/.exec(text);
        const shown = cut ? Number(cut[1].replace(/,/g, '')) : ref.rows.length;
        assert.ok(shown > 0 || ref.rows.length === 0, 'rows are shown in the text');
        for (let i = 0; i < shown; i++) assert.equal(lines[head + 1 + i], ref.rows[i].map(v => cellText(v)).join(' | '), `text row ${i + 1}`);
      });
    }
  });
}
