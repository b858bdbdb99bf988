import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { defaultWorkDir, resolveConfig } from '../../src/core/config';
import { SAMPLE_SQL } from '../../src/core/db/sampleData';
import { getDatabase, sortedQuery } from '../../src/core/db/service';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

let pg: PgCluster;
let analystUrl: string;
const PASSWORD = 'analyst-pw-7x';

before(async () => {
  pg = await startPostgres();
  psql(pg.adminUrl, 'CREATE DATABASE analytics');
  fs.writeFileSync(path.join(os.tmpdir(), 'dt-sample.sql'), SAMPLE_SQL);
  psql(pg.adminUrl, SAMPLE_SQL, 'analytics');
  psql(pg.adminUrl, `CREATE ROLE analyst LOGIN PASSWORD '${PASSWORD}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst;`, 'analytics');
  // the role owns nothing and has only SELECT: but even the superuser must not be able to write through the tool
  analystUrl = `postgresql://analyst:${PASSWORD}@127.0.0.1:${pg.port}/analytics`;
});
after(() => pg?.stop());

type Backend = 'postgres' | 'postgres-superuser' | 'sample';

function makeHost(backend: Backend, role: 'data_scientist' | 'data_engineer' = 'data_scientist') {
  const dir = tmpDir('db');
  const databaseUrl = backend === 'postgres' ? analystUrl : backend === 'postgres-superuser' ? pg.adminUrl.replace(/\/postgres$/, '/analytics') : undefined;
  return { dir, host: new ToolHost(resolveConfig({ role, databaseUrl, allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl') })) };
}

async function call(host: ToolHost, name: string, input: unknown) {
  return host.call(name, input, { caller: 'test' });
}

/** A fingerprint of every user table's contents and of the catalog, to prove nothing changed. */
async function fingerprint(backend: Backend, host: ToolHost): Promise<string> {
  if (backend !== 'sample') {
    return psql(pg.adminUrl, `SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
      SELECT c.relname::text || ':' || c.relkind::text || ':' || coalesce(s.n_live_tup, 0)::text AS x FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
       WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT md5(string_agg(u::text, '' ORDER BY id)) FROM users u
      UNION ALL SELECT rolname FROM pg_roles
      UNION ALL SELECT count(*)::text FROM pg_largeobject_metadata) t`, 'analytics');
  }
  const r = await call(host, 'execute_query', { query: `SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
      SELECT relname::text AS x FROM pg_class WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT md5(string_agg(u::text, '' ORDER BY id)) FROM users u
      UNION ALL SELECT count(*)::text FROM user_behavior
      UNION ALL SELECT count(*)::text FROM pg_largeobject_metadata) t` });
  assert.equal(r.isError, undefined, r.text);
  return r.text.split('\n').filter(l => !l.startsWith('Result r')).pop()!; // the last line before the stored result's id
}

const marker = path.join(os.tmpdir(), `dt-pwned-${process.pid}`);
const ESCAPES: [string, Record<string, unknown>, RegExp][] = [
  ['stacked COMMIT then DROP', { query: 'SELECT 1; COMMIT; DROP TABLE users' }, /3 statements/],
  ['stacked END then DELETE', { query: 'select 1; end; delete from users' }, /statements/],
  ['stacked ROLLBACK then UPDATE', { query: 'SELECT 1; ROLLBACK; UPDATE users SET name = $$x$$' }, /statements/],
  ['comment prefix', { query: '/* harmless */ -- still\nDELETE FROM users' }, /DELETE is not allowed/],
  ['writable CTE', { query: 'WITH gone AS (DELETE FROM users RETURNING *) SELECT count(*) FROM gone' }, /WITH clause containing DELETE/],
  ['nested writable CTE', { query: 'SELECT * FROM (WITH x AS (UPDATE users SET plan = $$team$$ RETURNING id) SELECT * FROM x) s' }, /WITH clause containing UPDATE/],
  ['DO block', { query: "DO $$BEGIN EXECUTE 'DROP TABLE users'; END$$" }, /DO is not allowed/],
  ['COPY TO PROGRAM', { query: `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'` }, /COPY is not allowed/],
  ['lo_import', { query: "SELECT lo_import('/etc/passwd')" }, /lo_import\(\) is refused/],
  ['lo_export', { query: `SELECT lo_export(1, '${marker}')` }, /lo_export\(\) is refused/],
  ['dblink', { query: "SELECT * FROM dblink('dbname=analytics', 'DROP TABLE users') AS t(x text)" }, /dblink\(\) runs SQL given to it as text/],
  ['set_config', { query: "SELECT set_config('default_transaction_read_only', 'off', false)" }, /set_config\(\) is refused/],
  ['schema-qualified set_config', { query: "SELECT pg_catalog.set_config('search_path', 'evil', false)" }, /set_config\(\) is refused/],
  ['EXPLAIN ANALYZE of a write', { query: 'EXPLAIN ANALYZE DELETE FROM users' }, /EXPLAIN ANALYZE would execute a DELETE/],
  ['EXPLAIN (ANALYZE) of a write', { query: 'EXPLAIN (ANALYZE, BUFFERS) INSERT INTO users SELECT * FROM users' }, /EXPLAIN ANALYZE would execute a INSERT/],
  ['SET session setting', { query: 'SET search_path = evil' }, /SET is not allowed/],
  ['SET ROLE', { query: 'SET ROLE postgres' }, /SET is not allowed/],
  ['RESET', { query: 'RESET ALL' }, /not allowed/],
  ['SELECT INTO', { query: 'SELECT * INTO stolen FROM users' }, /SELECT INTO creates a table/],
  ['FOR UPDATE', { query: 'SELECT * FROM users FOR UPDATE' }, /row locks/],
  ['advisory lock (survives rollback)', { query: 'SELECT pg_advisory_lock(1)' }, /pg_advisory_lock\(\) is refused/],
  ['pg_read_file', { query: "SELECT pg_read_file('/etc/passwd')" }, /pg_read_file\(\) is refused/],
  ['pg_ls_dir', { query: "SELECT pg_ls_dir('.')" }, /pg_ls_dir\(\) is refused/],
  ['pg_terminate_backend', { query: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity' }, /pg_terminate_backend\(\) is refused/],
  ['pg_sleep above the timeout', { query: 'SELECT pg_sleep(60)', timeout: 2 }, /longer than the 2 s query timeout/],
  ['PREPARE', { query: 'PREPARE p AS DELETE FROM users' }, /PREPARE is not allowed/],
  ['LISTEN', { query: 'LISTEN chan' }, /LISTEN is not allowed/],
  ['CALL', { query: 'CALL some_proc()' }, /CALL is not allowed/],
  ['TRUNCATE', { query: 'TRUNCATE users' }, /TRUNCATE is not allowed/],
  ['CREATE TABLE AS', { query: 'CREATE TABLE t2 AS SELECT 1' }, /not allowed/],
  ['syntax error', { query: 'SELEC 1' }, /does not parse/],
];

for (const backend of ['postgres', 'sample'] as Backend[]) {
  describe(`database tools on ${backend === 'postgres' ? 'a real PostgreSQL server' : 'the embedded sample (PGlite)'}`, () => {
    const { host, dir } = makeHost(backend, 'data_scientist');
    after(() => host.dispose());

    test('execute_query: compact, self-describing text with types, and the full table as structured data', async () => {
      const r = await call(host, 'execute_query', { query: 'SELECT id, name, plan, signup_date FROM users WHERE id <= $1 ORDER BY id', params: [3] });
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, /^3 rows returned in \d+ ms \(complete\)\./);
      assert.match(r.text, /columns: id integer, name text, plan text, signup_date date/);
      assert.match(r.text, /\n1 \| Grace Lovelace \| /);
      const t = r.parts.find(p => p.kind === 'table');
      assert.ok(t && t.kind === 'table');
      assert.equal(t.rows.length, 3);
      assert.equal(t.truncated, false);
    });

    test('execute_query: max_rows truncates (a row limit in the statement) and says so', async () => {
      const r = await call(host, 'execute_query', { query: 'SELECT * FROM user_behavior', max_rows: 10 });
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, /^10 rows returned in \d+ ms; TRUNCATED at max_rows=10/);
      const t = r.parts[0];
      assert.ok(t.kind === 'table' && t.rows.length === 10 && t.truncated);
    });

    test('execute_query: the text for the model stays within its budget on a large result', async () => {
      const r = await call(host, 'execute_query', { query: 'SELECT * FROM raw_logs ORDER BY id', max_rows: 5000 });
      assert.equal(r.isError, undefined, r.text);
      assert.ok(r.text.length < 8000, `text is ${r.text.length} chars`);
      assert.match(r.text, /Showing \d+ rows of 5,000 within the text budget; get the rest with get_result on the result id below \(offset\/limit, order_by, where, describe, save_as\)\.\n/);
      assert.doesNotMatch(r.text, /result view/, 'the text is for every front end, MCP included');
      // the id it points to is on the reply's last line, and get_result pages the stored rows
      const id = /\nResult (r[0-9a-z]+): 5,000 rows × \d+ columns stored; page, sort, filter or describe it with get_result/.exec(r.text)?.[1];
      assert.ok(id, r.text.slice(-400));
      const page = await call(host, 'get_result', { result_id: id, offset: 4990, limit: 10 });
      assert.equal(page.isError, undefined, page.text);
      assert.equal((page.parts.find(p => p.kind === 'table') as { rows: unknown[] }).rows.length, 10);
      assert.equal((r.parts[0] as { rows: unknown[] }).rows.length, 5000);
    });

    test('SHOW, VALUES, TABLE and EXPLAIN are allowed', async () => {
      for (const q of ['SHOW statement_timeout', 'VALUES (1, 2), (3, 4)', 'TABLE users', 'EXPLAIN SELECT * FROM users WHERE id = 1']) {
        const r = await call(host, 'execute_query', { query: q, max_rows: 5 });
        assert.equal(r.isError, undefined, `${q}: ${r.text}`);
      }
    });

    test('escape attempts are refused with clear messages and leave the database unchanged', async () => {
      const before = await fingerprint(backend, host);
      for (const [label, input, expected] of ESCAPES) {
        const r = await call(host, 'execute_query', input);
        assert.equal(r.isError, true, `${label} must be refused`);
        assert.match(r.text, expected, `${label}: ${r.text}`);
      }
      assert.equal(await fingerprint(backend, host), before);
      assert.ok(!fs.existsSync(marker), 'nothing was written on the server\'s disk');
    });

    test('read-only is enforced by the database even past the parser', async () => {
      const ac = new AbortController();
      const ctx = { config: host.config, services: host.services, signal: ac.signal, caller: 'test' as const };
      const db = await getDatabase(ctx);
      await assert.rejects(db.readOnly(5000, ac.signal, run => run('DELETE FROM users')), /read-only transaction/);
      await assert.rejects(db.readOnly(5000, ac.signal, run => run('CREATE TABLE evil (x int)')), /read-only transaction/);
    });

    test('a query past its timeout is stopped and the next call works', async () => {
      const started = Date.now();
      const r = await call(host, 'execute_query', { query: 'SELECT pg_sleep(s) FROM (VALUES (60)) v(s)', timeout: 2 });
      assert.equal(r.isError, true);
      assert.match(r.text, /stopped after its 2 s timeout/);
      assert.ok(Date.now() - started < 20_000, 'returned well before the sleep would end');
      const next = await call(host, 'execute_query', { query: 'SELECT count(*) AS n FROM users' });
      assert.equal(next.isError, undefined, next.text);
      assert.match(next.text, /\n2000$/m);
      if (backend !== 'sample') {
        const active = psql(pg.adminUrl, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(s)%' AND pid <> pg_backend_pid()");
        assert.equal(active, '0', 'the query is gone from pg_stat_activity');
      }
    });

    test('describe_table: columns, keys, indexes, comments; names are resolved, never spliced', async () => {
      const r = await call(host, 'describe_table', { table_name: 'public.users' });
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, /-- Registered users of the product/);
      assert.match(r.text, /id integer NOT NULL/);
      assert.match(r.text, /PRIMARY KEY \(id\)/);
      assert.match(r.text, /UNIQUE \(email\)/);
      assert.match(r.text, /plan text NOT NULL DEFAULT 'free'::text -- Subscription plan/);
      const fk = await call(host, 'describe_table', { table_name: 'user_behavior' });
      assert.match(fk.text, /FOREIGN KEY \(user_id\) REFERENCES users\(id\)/);
      assert.match(fk.text, /CREATE INDEX user_behavior_user_id_idx/);
      for (const evil of ['users"; DROP TABLE users; --', "users' OR '1'='1", 'users; DROP TABLE users', 'nosuchschema.users']) {
        const bad = await call(host, 'describe_table', { table_name: evil });
        assert.equal(bad.isError, true, evil);
        assert.match(bad.text, /No table or view named|is not a table name/);
      }
      const before = await fingerprint(backend, host);
      assert.equal(await fingerprint(backend, host), before);
    });

    test('list_tables, get_schema and get_table_sample', async () => {
      const l = await call(host, 'list_tables', {});
      assert.equal(l.isError, undefined, l.text);
      assert.match(l.text, /public\.users \(table, ~2,000 rows/);
      assert.match(l.text, /public\.user_behavior \(table, ~60,000 rows/);
      const s = await call(host, 'get_schema', {});
      assert.match(s.text, /CREATE TABLE public\.raw_logs \( -- ~40,000 rows/);
      assert.ok(s.text.length <= 13_000);
      const one = await call(host, 'get_schema', { table_name: 'raw_logs' });
      assert.match(one.text, /payload jsonb/);
      const sample = await call(host, 'get_table_sample', { table_name: 'user_behavior', n: 5 });
      assert.equal(sample.isError, undefined, sample.text);
      assert.match(sample.text, /^5 random rows of public\.user_behavior/);
      assert.equal((sample.parts[0] as { rows: unknown[] }).rows.length, 5);
    });

    test('save_as hands the whole result to Python as CSV or Parquet', async () => {
      const csv = await call(host, 'execute_query', { query: 'SELECT id, email FROM users ORDER BY id', save_as: 'users.csv' });
      assert.equal(csv.isError, undefined, csv.text);
      const csvPath = path.join(defaultWorkDir([dir]), 'results', 'users.csv');
      assert.match(csv.text, /Saved all 2,000 rows to .*users\.csv/);
      const lines = fs.readFileSync(csvPath, 'utf8').trim().split('\r\n');
      assert.equal(lines.length, 2001);
      assert.equal(lines[1], '1,user1@example.com');
      const pq = await call(host, 'execute_query', { query: 'SELECT id, user_id, duration_seconds, occurred_at FROM user_behavior ORDER BY id LIMIT 1000', save_as: 'behavior.parquet' });
      assert.equal(pq.isError, undefined, pq.text);
      const { parquetReadObjects } = await import('hyparquet');
      const buf = fs.readFileSync(path.join(defaultWorkDir([dir]), 'results', 'behavior.parquet'));
      const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer });
      assert.equal(rows.length, 1000);
      assert.equal(Number(rows[0].id), 1);
      const denied = await call(host, 'execute_query', { query: 'SELECT 1', save_as: '/etc/x.csv' });
      assert.match(denied.text, /cannot write files; save_as takes a plain file name/);
    });
  });
}

test('a several-million-row table with max_rows 10 fetches 10 rows', async () => {
  psql(pg.adminUrl, 'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 3000000) g; GRANT SELECT ON big TO analyst', 'analytics');
  const { host } = makeHost('postgres');
  try {
    const r = await call(host, 'execute_query', { query: 'SELECT * FROM big', max_rows: 10 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /^10 rows returned .*TRUNCATED/);
  } finally { await host.dispose(); }
});

test('session state cannot leak into the next call on the pooled connection', async () => {
  const { host } = makeHost('postgres');
  try {
    for (let i = 0; i < 6; i++) await call(host, 'execute_query', { query: "SELECT set_config('search_path', 'evil', false)" });
    const r = await call(host, 'execute_query', { query: 'SHOW search_path' });
    assert.match(r.text, /"\$user", public/);
    const ro = await call(host, 'execute_query', { query: 'SHOW default_transaction_read_only' });
    assert.match(ro.text, /\noff$/m, 'the session default is untouched; each call opens its own READ ONLY transaction');
  } finally { await host.dispose(); }
});

test('even a superuser connection cannot write through execute_query', async () => {
  const { host } = makeHost('postgres-superuser');
  try {
    const before = await fingerprint('postgres-superuser', host);
    for (const [, input] of ESCAPES) await call(host, 'execute_query', input);
    assert.equal(await fingerprint('postgres-superuser', host), before);
    assert.ok(!fs.existsSync(marker));
  } finally { await host.dispose(); }
});

test('connection errors are clear and never show the password', async () => {
  const dir = tmpDir('dbdown');
  const host = new ToolHost(resolveConfig({ databaseUrl: `postgresql://analyst:${PASSWORD}@127.0.0.1:1/analytics`, allowedPaths: [dir], auditLogPath: path.join(dir, 'a.jsonl') }));
  try {
    const r = await call(host, 'list_tables', {});
    assert.equal(r.isError, true);
    assert.match(r.text, /Cannot connect to the database/);
    assert.ok(!r.text.includes(PASSWORD));
    assert.ok(!fs.readFileSync(path.join(dir, 'a.jsonl'), 'utf8').includes(PASSWORD));
  } finally { await host.dispose(); }
  // a server that answers but refuses the login or the database: still a connection problem, with its SQLSTATE
  const nodb = new ToolHost(resolveConfig({ databaseUrl: `postgresql://analyst:${PASSWORD}@127.0.0.1:${pg.port}/nosuchdb`, allowedPaths: [dir], auditLogPath: path.join(dir, 'b.jsonl') }));
  try {
    const r = await call(nodb, 'execute_query', { query: 'SELECT 1' });
    assert.match(r.text, /^Cannot connect to the database: database "nosuchdb" does not exist \(3D000\)/);
    assert.ok(!r.text.includes(PASSWORD));
  } finally { await nodb.dispose(); }
});

test('a query error is reported as PostgreSQL reports it, never as a connection problem', async () => {
  const { host } = makeHost('postgres');
  try {
    const r = await call(host, 'execute_query', { query: 'SELECT nosuch FROM users' });
    assert.match(r.text, /^PostgreSQL ERROR 42703: column "nosuch" does not exist at character 8 \(column 8\) of the query\./);
    const db = await call(host, 'execute_query', { query: "SELECT * FROM users WHERE signup_date = 'not a date'" });
    assert.match(db.text, /^PostgreSQL ERROR 22007: invalid input syntax for type date: "not a date" at character 41/);
    assert.doesNotMatch(r.text + db.text, /connect/i);
  } finally { await host.dispose(); }
});

test('sortedQuery: the whole query sorted on the server by a column of its result equals PostgreSQL\'s own ORDER BY', async () => {
  const { host } = makeHost('postgres');
  const rows = async (query: string) => {
    const r = await call(host, 'execute_query', { query, max_rows: 1000 });
    assert.equal(r.isError, undefined, `${query}: ${r.text}`);
    const t = r.parts.find(p => p.kind === 'table');
    assert.ok(t?.kind === 'table');
    return t.rows;
  };
  try {
    const cases: [string, number, boolean, string][] = [
      // trailing semicolon and comments, its own ORDER BY and LIMIT kept as written, NULLs last both ways
      ['SELECT id, CASE WHEN id % 3 = 0 THEN NULL ELSE (id * 37) % 11 END AS v FROM users ORDER BY id DESC LIMIT 20; -- last 20',
        2, false, 'SELECT * FROM (SELECT id, CASE WHEN id % 3 = 0 THEN NULL ELSE (id * 37) % 11 END AS v FROM users ORDER BY id DESC LIMIT 20) s ORDER BY v NULLS LAST'],
      ['/* lead */ SELECT id, CASE WHEN id % 3 = 0 THEN NULL ELSE (id * 37) % 11 END AS v FROM users -- no newline at the end',
        2, true, 'SELECT id, CASE WHEN id % 3 = 0 THEN NULL ELSE (id * 37) % 11 END AS v FROM users ORDER BY v DESC NULLS LAST'],
      // duplicate column names: by position, not by name
      ['SELECT u.id, u2.id FROM users u JOIN users u2 ON u2.id = 1 + (u.id * 7) % 20', 2, true,
        'SELECT u.id, u2.id FROM users u JOIN users u2 ON u2.id = 1 + (u.id * 7) % 20 ORDER BY 2 DESC NULLS LAST'],
      ['WITH w AS (SELECT id, (id * 13) % 7 AS m FROM users) SELECT m, id FROM w', 1, false, 'SELECT (id * 13) % 7 AS m, id FROM users ORDER BY m'],
      ['VALUES (3, \'c\'), (1, NULL), (2, \'a\')', 2, false, 'SELECT * FROM (VALUES (3, \'c\'), (1, NULL), (2, \'a\')) v ORDER BY 2 NULLS LAST'],
    ];
    for (const [query, column, desc, reference] of cases) {
      const sorted = await sortedQuery(query, column, desc);
      assert.ok(sorted, query);
      const got = await rows(sorted);
      const want = await rows(reference);
      assert.ok(got.length > 1, query);
      // the sort column equal row by row (ties may come in another order), and the same rows in all
      assert.deepEqual(got.map(r => r[column - 1]), want.map(r => r[column - 1]), query);
      assert.deepEqual(got.map(r => JSON.stringify(r)).sort(), want.map(r => JSON.stringify(r)).sort(), query);
    }
    // nothing else is wrapped: not a SELECT, two statements, text that does not parse, a column that is not one
    for (const q of ['SHOW work_mem', 'EXPLAIN SELECT 1', 'SELECT 1; SELECT 2', 'SELEC 1', 'DELETE FROM users']) assert.equal(await sortedQuery(q, 1, false), undefined, q);
    assert.equal(await sortedQuery('SELECT 1', 0, false), undefined);
    // the wrapped query goes through the same read-only checks: a refused function stays refused
    const refused = await call(host, 'execute_query', { query: (await sortedQuery("SELECT pg_read_file('/etc/hostname')", 1, false))! });
    assert.equal(refused.isError, true);
    assert.match(refused.text, /^Refused: .*pg_read_file/);
  } finally { await host.dispose(); }
});
