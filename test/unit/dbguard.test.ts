// The read-only SQL guard against real SQL (PostgreSQL's regression suite, TPC-H, TPC-DS) and against escape
// corpora, on one throwaway PostgreSQL cluster.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { DEFAULT_DENIED_FUNCTIONS, FunctionCatalog, checkFunctions, checkQuery, loadParser, type RefusalClass } from '../../src/core/db/guard';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

const ROOT = path.resolve(__dirname, '..', '..', '..');
// ../shared/corpora beside the clone (as in CI); from a worktree nested deeper, the nearest such folder above
const CORPORA = [path.resolve(ROOT, '..', 'shared', 'corpora'), path.resolve(ROOT, '..', '..', 'shared', 'corpora')].find(p => fs.existsSync(p))
  ?? path.resolve(ROOT, '..', 'shared', 'corpora');

let pg: PgCluster;
const url = (db: string, user = 'analyst') => `postgresql://${user}@127.0.0.1:${pg.port}/${db}`;

function hostFor(db: string, user = 'analyst', extra: Record<string, unknown> = {}): ToolHost {
  const dir = tmpDir('guard');
  return new ToolHost(resolveConfig({ role: 'data_scientist', databaseUrl: url(db, user), allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl'), ...extra }));
}
const call = (host: ToolHost, name: string, input: unknown) => host.call(name, input, { caller: 'test' });

async function direct<T>(db: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url(db, 'postgres') });
  await c.connect();
  try { return await fn(c); } finally { await c.end(); }
}

before(async () => {
  pg = await startPostgres();
  for (const db of ['regress', 'tpch', 'tpcds', 'legacy']) psql(pg.adminUrl, `CREATE DATABASE ${db}`);
  psql(pg.adminUrl, `CREATE ROLE analyst LOGIN;
    ALTER DATABASE legacy SET standard_conforming_strings = off; ALTER DATABASE legacy SET escape_string_warning = off;
    CREATE ROLE legacy_role LOGIN; ALTER ROLE legacy_role SET standard_conforming_strings = off; ALTER ROLE legacy_role SET backslash_quote = on;`);
  // TPC-H with SF 0.01 data (dbgen's trailing '|' stripped)
  psql(pg.adminUrl, fs.readFileSync(path.join(CORPORA, 'tpch', 'schema.sql'), 'utf8'), 'tpch');
  for (const f of fs.readdirSync(path.join(CORPORA, 'tpch', 'data'))) {
    const data = fs.readFileSync(path.join(CORPORA, 'tpch', 'data', f), 'utf8').replace(/\|$/gm, '');
    execFileSync('psql', [url('tpch', 'postgres'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY ${path.basename(f, '.tbl')} FROM STDIN (FORMAT text, DELIMITER '|')`], { input: data });
  }
  psql(pg.adminUrl, 'ANALYZE; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst', 'tpch');
  // TPC-DS: schema only
  const ddl = fs.readdirSync(path.join(CORPORA, 'tpcds', 'schema')).map(f => fs.readFileSync(path.join(CORPORA, 'tpcds', 'schema', f), 'utf8')).join('\n');
  psql(pg.adminUrl, `${ddl}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst`, 'tpcds');
  // the legacy database: a table, a sequence, a function the escapes would like to reach
  psql(pg.adminUrl, `CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;
    CREATE SEQUENCE s; CREATE INDEX t_brin ON t USING brin (id); GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst, legacy_role;
    GRANT USAGE ON SEQUENCE s TO analyst, legacy_role`, 'legacy');
  await loadParser();
});
after(() => pg?.stop());

/** Every refusal class a corpus statement may fall in; each is a decision documented in the README. */
const DOCUMENTED: Record<RefusalClass, string> = {
  'syntax': 'does not parse with PostgreSQL\'s parser',
  'empty': 'no statement',
  'multiple-statements': 'more than one statement',
  'not-read-only': 'a statement other than SELECT/VALUES/TABLE/SHOW/EXPLAIN, or a write inside one',
  'explain-analyze-write': 'EXPLAIN ANALYZE of a statement other than SELECT',
  'select-into': 'SELECT INTO (creates a table)',
  'row-locks': 'SELECT ... FOR UPDATE/SHARE outside EXPLAIN',
  'writable-cte': 'WITH containing INSERT/UPDATE/DELETE/MERGE',
  'sql-as-text-function': 'query_to_xml, cursor_to_xml, ts_stat, dblink, ...',
  'server-state-function': 'advisory locks, large objects, pg_notify, directory listings, statistics resets, ...',
  'denied-function': 'on the connection\'s deny list',
  'not-allowed-function': 'not on the connection\'s allow list',
  'volatile-function': 'VOLATILE and not reviewed',
  'unknown-function': 'not in pg_proc',
  'volatile-operator': 'an operator whose function is VOLATILE',
  'sleep-over-timeout': 'pg_sleep longer than the timeout',
};

describe('the PostgreSQL regression corpus (5,748 statements PostgreSQL ran read-only)', () => {
  test('admitted, and every refusal in a documented class', async () => {
    const lines = fs.readFileSync(path.join(CORPORA, 'pg-regress', 'read-only-ok.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { file: string; line: number; sql: string; rows: number });
    assert.equal(lines.length, 5748);
    const cat = await direct('regress', async c => {
      const rows = async (sql: string) => (await c.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
      return new FunctionCatalog((await rows(FunctionCatalog.SQL.searchPath)).map(r => String(r[0])), await rows(FunctionCatalog.SQL.procs), await rows(FunctionCatalog.SQL.volatileOps), await rows(FunctionCatalog.SQL.types));
    });
    const policy = { deniedFunctions: DEFAULT_DENIED_FUNCTIONS, timeoutSec: 30 };
    const byClass = new Map<string, string[]>();
    const admitted: typeof lines = [];
    for (const l of lines) {
      let v: ReturnType<typeof checkQuery> | undefined = checkQuery(l.sql, policy);
      if (v.ok) v = checkFunctions(v.refs, cat, policy) ?? v;
      if (v.ok) { admitted.push(l); continue; }
      const list = byClass.get(v.class) ?? [];
      list.push(`${l.file}:${l.line}: ${v.reason.slice(0, 110)}`);
      byClass.set(v.class, list);
    }
    const refused = lines.length - admitted.length;
    console.log(`pg-regress: ${admitted.length} of ${lines.length} admitted, ${refused} refused`);
    for (const [cls, list] of [...byClass].sort((a, b) => b[1].length - a[1].length)) {
      console.log(`  ${cls} (${DOCUMENTED[cls as RefusalClass] ?? 'UNDOCUMENTED'}): ${list.length}`);
      for (const x of list) console.log(`    ${x.replace(/\s+/g, ' ')}`);
    }
    for (const cls of byClass.keys()) assert.ok(cls in DOCUMENTED, `refusal class ${cls} is not documented`);
    // the README names every class the corpus hits
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const cls of byClass.keys()) assert.ok(readme.includes(`\`${cls}\``), `README documents the refusal class ${cls}`);
    // nothing the corpus needs is refused for being unknown or as a parse error: those would be guard bugs
    assert.equal(byClass.get('syntax')?.length ?? 0, 0);
    assert.equal(byClass.get('multiple-statements')?.length ?? 0, 0);
    // the counts the README states: a change in the guard shows here
    assert.deepEqual(Object.fromEntries([...byClass].map(([k, v]) => [k, v.length])), { 'server-state-function': 73, 'volatile-function': 1 });
    assert.equal(admitted.length, 5674);
  });
});
