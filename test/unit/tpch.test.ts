// TPC-H SF0.01 (../shared/corpora/tpch) in a real PostgreSQL: the 22 queries through execute_query (the MCP server
// spawned under TZ=Asia/Tokyo and TZ=America/New_York) equal the same queries run directly with `pg` reading the
// server's raw text, cell by cell: in the structured result, and in the model's text for the rows it shows.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectMcp, ROOT, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { cellText } from '../../src/core/values';

const TPCH = path.join(process.env.DATATOOLS_CORPORA ?? path.resolve(ROOT, '..', 'shared', 'corpora'), 'tpch');
const TABLES = ['region', 'nation', 'supplier', 'customer', 'part', 'partsupp', 'orders', 'lineitem'];
const QUERIES = fs.readdirSync(path.join(TPCH, 'queries')).filter(f => /^q\d\d\.sql$/.test(f)).sort();

let pg: PgCluster;
let url: string;
/** Each query's reference result: column names and the server's own text for every cell. */
const reference = new Map<string, { names: string[]; rows: (string | null)[][] }>();

before(async () => {
  assert.equal(QUERIES.length, 22, `the 22 TPC-H queries are in ${TPCH}/queries`);
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE tpch');
  url = pg.adminUrl.replace(/\/postgres$/, '/tpch');
  psql(pg.adminUrl, fs.readFileSync(path.join(TPCH, 'schema.sql'), 'utf8'), 'tpch');
  for (const t of TABLES) {
    // dbgen ends every line with a '|': strip it on the way in
    const file = path.join(TPCH, 'data', `${t}.tbl`);
    psql(pg.adminUrl, `\\copy ${t} FROM PROGRAM 'sed ''s/|$//'' ${file.replace(/'/g, "''")}' WITH (FORMAT text, DELIMITER '|')`, 'tpch');
  }
  // dbgen's DDL has no keys; without these PostgreSQL runs q17/q20's correlated subqueries as nested scans (minutes)
  psql(pg.adminUrl, `ALTER TABLE region ADD PRIMARY KEY (r_regionkey); ALTER TABLE nation ADD PRIMARY KEY (n_nationkey);
    ALTER TABLE part ADD PRIMARY KEY (p_partkey); ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey);
    ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey); ALTER TABLE customer ADD PRIMARY KEY (c_custkey);
    ALTER TABLE orders ADD PRIMARY KEY (o_orderkey); ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber);
    CREATE INDEX ON lineitem (l_partkey, l_suppkey); ANALYZE`, 'tpch');
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
  const counts = psql(pg.adminUrl, `SELECT ${TABLES.map(t => `(SELECT count(*) FROM ${t})`).join(" || ',' || ")}`, 'tpch');
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
        const t = (r.structuredContent as { tables: { columns: { name: string; type: string }[]; rows: unknown[][]; truncated: boolean }[] }).tables[0];
        assert.equal(t.truncated, false);
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
