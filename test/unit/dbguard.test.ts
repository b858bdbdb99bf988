// The read-only SQL guard against real SQL (PostgreSQL's regression suite, TPC-H, TPC-DS) and against escape
// corpora, on one throwaway PostgreSQL cluster.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { DEFAULT_DENIED_FUNCTIONS, FunctionCatalog, checkFunctions, checkQuery, loadParser, type RefusalClass } from '../../src/core/db/guard';
import { getDatabase, pinSession } from '../../src/core/db/service';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { corpus, loadTpch } from '../helpers/corpora';

const ROOT = path.resolve(__dirname, '..', '..', '..');

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
  for (const db of ['regress', 'tpcds', 'legacy']) psql(pg.adminUrl, `CREATE DATABASE ${db}`);
  psql(pg.adminUrl, `CREATE ROLE analyst LOGIN;
    ALTER DATABASE legacy SET standard_conforming_strings = off; ALTER DATABASE legacy SET escape_string_warning = off;
    CREATE ROLE legacy_role LOGIN; ALTER ROLE legacy_role SET standard_conforming_strings = off; ALTER ROLE legacy_role SET backslash_quote = on;`);
  loadTpch(pg.adminUrl, 'tpch');
  psql(pg.adminUrl, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst', 'tpch');
  // TPC-DS: schema only
  const ddl = fs.readdirSync(path.join(corpus('tpcds'), 'schema')).map(f => fs.readFileSync(path.join(corpus('tpcds'), 'schema', f), 'utf8')).join('\n');
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
    const lines = fs.readFileSync(path.join(corpus('pg-regress'), 'read-only-ok.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { file: string; line: number; sql: string; rows: number });
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
    // run every 8th admitted statement through execute_query (as the superuser, like the regression suite) and
    // compare the row count with pg's on the same database (the recorded counts depend on the cluster's roles)
    const host = hostFor('regress', 'postgres');
    const failures: string[] = [];
    let ran = 0;
    try {
      await direct('regress', async c => {
        for (let i = 0; i < admitted.length; i += 8) {
          const l = admitted[i];
          const r = await call(host, 'execute_query', { query: l.sql, max_rows: 100_000, timeout: 20 });
          ran++;
          const rows = (r.parts[0] as { rows?: unknown[] } | undefined)?.rows?.length;
          let expected = ((await c.query(l.sql)) as unknown as { rows: unknown[] }).rows.length;
          // sent with the extended protocol, the statement's own unnamed portal is listed in pg_cursors
          // (PostgreSQL hides it only for the simple protocol); the tool opens no cursor of its own
          if (/pg_cursors/.test(l.sql)) expected += 1;
          if (r.isError || rows !== expected) failures.push(`${l.file}:${l.line}: ${r.isError ? r.text.slice(0, 200) : `${rows} rows, pg had ${expected}`}`);
        }
      });
    } finally { await host.dispose(); }
    console.log(`pg-regress: ran ${ran} admitted statements through execute_query, ${failures.length} differ`);
    for (const f of failures) console.log(`  ${f.replace(/\s+/g, ' ')}`);
    assert.deepEqual(failures, []);
  });
});

/** A cell as PostgreSQL's text output would show it (the reference reads every value as text). */
function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) {
    const p = (n: number) => String(n).padStart(2, '0');
    return `${v.getFullYear()}-${p(v.getMonth() + 1)}-${p(v.getDate())}`;
  }
  return String(v);
}
const textTypes = { getTypeParser: () => (v: string) => v };

describe('TPC-H and TPC-DS', () => {
  test('the 22 TPC-H queries (SF 0.01) are admitted, run, and give the same rows as pg directly', async () => {
    const host = hostFor('tpch');
    try {
      const dir = path.join(corpus('tpch'), 'queries');
      const files = fs.readdirSync(dir).filter(f => f.endsWith('.sql')).sort();
      assert.equal(files.length, 22);
      let cells = 0;
      for (const f of files) {
        const sql = fs.readFileSync(path.join(dir, f), 'utf8');
        const r = await call(host, 'execute_query', { query: sql, max_rows: 100_000 });
        assert.equal(r.isError, undefined, `${f}: ${r.text}`);
        const ours = (r.parts[0] as { rows: unknown[][] }).rows.map(row => JSON.stringify(row.map(cellText)));
        const ref = await direct('tpch', async c => (await c.query({ text: sql, rowMode: 'array', types: textTypes })).rows as unknown[][]);
        const theirs = ref.map(row => JSON.stringify(row));
        assert.ok(ref.length > 0 || f === 'q15.sql' || ours.length === 0, `${f} returns rows`);
        assert.deepEqual([...ours].sort(), [...theirs].sort(), `${f}: the same rows as pg`);
        cells += ref.reduce((n, row) => n + row.length, 0);
      }
      console.log(`TPC-H: 22 queries, ${cells} cells equal to pg`);
    } finally { await host.dispose(); }
  });

  test('the 99 TPC-DS queries (schema only) are admitted and run', async () => {
    const host = hostFor('tpcds');
    try {
      const dir = path.join(corpus('tpcds'), 'queries');
      const files = fs.readdirSync(dir).filter(f => f.endsWith('.sql')).sort();
      assert.equal(files.length, 99);
      const failed: string[] = [];
      for (const f of files) {
        const r = await call(host, 'execute_query', { query: fs.readFileSync(path.join(dir, f), 'utf8') });
        if (r.isError) failed.push(`${f}: ${r.text}`);
      }
      assert.deepEqual(failed, []);
    } finally { await host.dispose(); }
  });
});

/** What an escape could change: table contents, the sequence, statistics reset times, large objects, advisory
 *  locks, functions and tables, files. Read as the superuser, outside the tool. */
function serverState(db: string): string {
  return psql(pg.adminUrl, `SELECT concat_ws(' | ',
      (SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM t),
      (SELECT last_value || '/' || is_called FROM s),
      (SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = current_database()),
      (SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_bgwriter),
      (SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_archiver),
      (SELECT count(*) FROM pg_largeobject_metadata),
      (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
      (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace),
      (SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
      (SELECT count(*) FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 100))`, db);
}
const marker = path.join(require('node:os').tmpdir(), `dt-guard-pwned-${process.pid}`);

describe('escape corpora: each refused or harmless, the server unchanged', () => {
  before(() => {
    // reference statistics, so a reset would show as a changed timestamp
    psql(pg.adminUrl, "SELECT pg_stat_reset(); SELECT pg_stat_reset_shared('bgwriter'); SELECT pg_stat_reset_shared('archiver')", 'legacy');
    // a VOLATILE function of the database's own, and an overload that shadows a safe built-in by name
    psql(pg.adminUrl, `CREATE FUNCTION public.bump() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT 1';
      CREATE FUNCTION public.lower(int) RETURNS int VOLATILE LANGUAGE sql AS 'SELECT $1';
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO analyst, legacy_role`, 'legacy');
  });

  test('standard_conforming_strings = off (database and role): the server reads strings as the guard does', async () => {
    const before = serverState('legacy');
    // under standard_conforming_strings = off the server would read 'a\', ' as one string and run the rest as
    // statements; with the setting pinned it is two strings, as the guard parsed it
    const attacks = [
      String.raw`SELECT 'a\', '; COMMIT; CREATE TABLE pwned(x int); DELETE FROM t; --' AS x`,
      String.raw`SELECT 'a\' AS a, ' ; SELECT pg_stat_reset(); SELECT nextval(''s''); --' AS b`,
      String.raw`SELECT 'x\' AS a, '; COMMIT; COPY (SELECT 1) TO PROGRAM $$touch ${marker}$$; --' AS c`,
      String.raw`SELECT length('\'), '; END; DROP TABLE t; --'`,
    ];
    for (const user of ['analyst', 'legacy_role', 'postgres']) {
      for (const extra of [{}, { deniedFunctions: [] }]) {
        const host = hostFor('legacy', user, extra);
        try {
          const show = await call(host, 'execute_query', { query: 'SHOW standard_conforming_strings' });
          assert.match(show.text, /\non$/m, `${user}: pinned on`);
          const bq = await call(host, 'execute_query', { query: 'SHOW backslash_quote' });
          assert.match(bq.text, /\nsafe_encoding$/m);
          for (const q of attacks) {
            const r = await call(host, 'execute_query', { query: q });
            assert.equal(r.isError, undefined, `${user}: ${q}: ${r.text}`);
            const row = (r.parts[0] as { rows: unknown[][] }).rows[0];
            assert.ok(row.some(v => typeof v === 'string' && v.includes(';')), `${user}: the statement text stayed a string: ${JSON.stringify(row)}`);
          }
          // a string with a backslash means what the guard read
          const raw = await call(host, 'execute_query', { query: String.raw`SELECT 'a\nb' AS s, E'c\'d' AS e` });
          assert.deepEqual((raw.parts[0] as { rows: unknown[][] }).rows[0], ['a\\nb', "c'd"]);
        } finally { await host.dispose(); }
      }
    }
    // what the server would have done without the pin (a psql session on the legacy database): the proof that
    // the corpus is an escape corpus
    const unpinned = psql(pg.adminUrl, String.raw`SELECT length('a\'b')`, 'legacy');
    assert.equal(unpinned, '3', 'the legacy database reads \\\' as a quote');
    assert.equal(serverState('legacy'), before);
    assert.ok(!fs.existsSync(marker));
  });

  test('a query is sent as exactly one statement (extended protocol): a second one is a server error', async () => {
    const host = hostFor('legacy', 'postgres');
    try {
      const ac = new AbortController();
      const db = await getDatabase({ config: host.config, services: host.services, signal: ac.signal, caller: 'test' });
      await assert.rejects(db.readOnly(5000, ac.signal, run => run('SELECT 1; COMMIT; CREATE TABLE pwned2(x int)')), /cannot insert multiple commands into a prepared statement/);
      assert.equal(psql(pg.adminUrl, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pwned%'", 'legacy'), '0');
    } finally { await host.dispose(); }
  });

  test('a setting that cannot be pinned is a refusal', async () => {
    const fake = { label: 'fake', kind: 'postgres' as const, readOnly: async () => undefined as never, dispose: async () => undefined };
    const run = async () => ({ fields: [], rows: [['off', 'safe_encoding', 'on', '1000', 'UTF8', '1', 'x']] });
    await assert.rejects(pinSession(fake, run, 1000), /standard_conforming_strings could not be pinned to on/);
    const run2 = async () => ({ fields: [], rows: [['on', 'safe_encoding', 'on', '1000', 'SJIS', '1', 'x']] });
    await assert.rejects(pinSession(fake, run2, 1000), /client_encoding is SJIS/);
  });

  const SQL_TEXT = [
    "SELECT query_to_xml('SELECT pg_stat_reset()', true, true, '')",
    "SELECT pg_catalog.query_to_xml('DELETE FROM t RETURNING 1', true, true, '')",
    'SELECT "query_to_xml"(\'SELECT nextval(\'\'s\'\')\', true, true, \'\')',
    "SELECT QUERY_TO_XML('SELECT lo_create(0)', false, false, '')",
    "SELECT query_to_xmlschema('SELECT pg_advisory_lock(1)', true, true, '')",
    "SELECT query_to_xml_and_xmlschema('SELECT setval(''s'', 99)', true, true, '')",
    "SELECT cursor_to_xml('c', 1, true, true, '')",
    "SELECT * FROM ts_stat('SELECT to_tsvector(v) FROM t WHERE pg_stat_reset() IS NULL')",
    "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery FROM (SELECT nextval(''s'')) x')",
    "SELECT table_to_xml('t', true, true, '')",
    "SELECT schema_to_xml('public', true, true, '')",
    "SELECT database_to_xml(true, true, '')",
    "SELECT * FROM dblink('dbname=legacy', 'SELECT pg_stat_reset()') AS x(y text)",
    "SELECT length(query_to_xml('SELECT 1', true, true, '')::text) FROM t",
    "EXPLAIN SELECT query_to_xml('SELECT pg_stat_reset()', true, true, '')",
    "EXPLAIN ANALYZE SELECT query_to_xml('SELECT pg_stat_reset()', true, true, '')",
  ];
  const SERVER_STATE = [
    'SELECT pg_stat_reset()', "SELECT pg_stat_reset_shared('bgwriter')", "SELECT pg_stat_reset_shared('archiver')",
    "SELECT pg_stat_reset_single_table_counters('t'::regclass)", 'SELECT pg_stat_reset_slru(NULL)',
    "SELECT brin_summarize_new_values('t_brin')", "SELECT brin_summarize_range('t_brin', 0)", "SELECT brin_desummarize_range('t_brin', 0)",
    "SELECT gin_clean_pending_list('t_brin')", 'SELECT pg_advisory_lock(1)', 'SELECT pg_try_advisory_lock(1)',
    'SELECT pg_advisory_xact_lock(1)', "SELECT pg_notify('c', 'x')", 'SELECT lo_create(0)', "SELECT lo_import('/etc/hostname')",
    `SELECT lo_export(1, '${marker}')`, "SELECT nextval('s')", "SELECT setval('s', 42)", 'SELECT setseed(0.5)',
    'SELECT txid_current()', 'SELECT pg_current_xact_id()', 'SELECT pg_log_backend_memory_contexts(pg_backend_pid())',
    "SELECT set_config('search_path', 'evil', false)", "SELECT pg_ls_dir('.')", "SELECT pg_read_file('/etc/passwd')",
    'SELECT pg_stat_force_next_flush()', 'SELECT pg_stat_clear_snapshot()', 'SELECT bump()', 'SELECT public.bump()',
    'SELECT lower(1)', 'SELECT * FROM t WHERE id = bump()', 'SELECT (SELECT pg_stat_reset()) IS NULL',
    'WITH x AS (SELECT pg_stat_reset()) SELECT * FROM x', 'SELECT * FROM t ORDER BY pg_stat_reset() IS NULL',
    'SELECT pg_catalog.pg_stat_reset()', 'SELECT "pg_stat_reset"()', 'SELECT PG_STAT_RESET()',
    'SELECT pg_terminate_backend(pg_backend_pid())', 'SELECT pg_reload_conf()', 'SELECT pg_switch_wal()',
    'SELECT no_such_function(1)', 'EXPLAIN ANALYZE SELECT pg_stat_reset()',
  ];
  for (const [label, corpus] of [['SQL-as-text functions', SQL_TEXT], ['server-state functions', SERVER_STATE]] as const) {
    test(`${label}: refused by name with the reason, with or without the deny list, as analyst or superuser`, async () => {
      const before = serverState('legacy');
      for (const user of ['analyst', 'postgres']) {
        for (const extra of [{}, { deniedFunctions: [] }]) {
          const host = hostFor('legacy', user, extra);
          try {
            for (const q of corpus) {
              const r = await call(host, 'execute_query', { query: q });
              assert.equal(r.isError, true, `${user} ${JSON.stringify(extra)}: ${q} must be refused: ${r.text}`);
              assert.match(r.text, /^Refused: /, `${q}: ${r.text}`);
              assert.match(r.text, /The function [\w.]+\(\)/, `${q} names the function: ${r.text}`);
            }
          } finally { await host.dispose(); }
        }
      }
      assert.equal(serverState('legacy'), before);
      assert.ok(!fs.existsSync(marker));
    });
  }

  test('an administrator may opt in a function of their own by exact name', async () => {
    const host = hostFor('legacy', 'analyst', { allowedFunctions: ['bump', 'count'] });
    try {
      const r = await call(host, 'execute_query', { query: 'SELECT bump(), count(*) FROM t' });
      assert.equal(r.isError, undefined, r.text);
      const no = await call(host, 'execute_query', { query: 'SELECT lower(v) FROM t' });
      assert.match(no.text, /lower\(\) is not on the allowed list/);
    } finally { await host.dispose(); }
  });

  test('allowed on purpose: plain EXPLAIN of anything, EXPLAIN of DECLARE CURSOR and of FOR UPDATE; reviewed VOLATILE functions', async () => {
    const before = serverState('legacy');
    // EXPLAIN checks privileges as if it ran: the writes are explained as the owner
    const host = hostFor('legacy', 'postgres');
    try {
      for (const q of ['EXPLAIN DELETE FROM t', 'EXPLAIN UPDATE t SET v = v || 1', 'EXPLAIN INSERT INTO t SELECT id + 1000, v FROM t',
        'EXPLAIN DECLARE c CURSOR FOR SELECT * FROM t', 'EXPLAIN SELECT * FROM t FOR UPDATE', 'EXPLAIN (COSTS OFF) SELECT * FROM t FOR SHARE',
        'EXPLAIN SELECT bump()', 'EXPLAIN WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'EXPLAIN CREATE TABLE x AS SELECT * FROM t',
        'EXPLAIN (ANALYZE false) DELETE FROM t',
        'SELECT random() < 2, gen_random_uuid() IS NOT NULL, clock_timestamp() IS NOT NULL, timeofday() <> \'\', pg_sleep(0)',
        "SELECT pg_size_pretty(pg_total_relation_size('t')), pg_relation_size('t') > 0",
        'SELECT upper(v), now() IS NOT NULL, count(*) OVER () FROM t LIMIT 3']) {
        const r = await call(host, 'execute_query', { query: q });
        assert.equal(r.isError, undefined, `${q}: ${r.text}`);
      }
      for (const [q, re] of [['EXPLAIN ANALYZE DELETE FROM t', /EXPLAIN ANALYZE would execute a DELETE/], ['EXPLAIN (ANALYZE) SELECT bump()', /bump\(\).*VOLATILE/],
        ['SELECT * FROM t FOR UPDATE', /row locks/],
        // stricter than PostgreSQL's overload resolution on purpose: a VOLATILE public.lower(int) makes every lower() refused
        ['SELECT lower(v) FROM t', /lower\(\) \(in public\) is VOLATILE/]] as const) {
        const r = await call(host, 'execute_query', { query: q });
        assert.match(r.text, re);
      }
    } finally { await host.dispose(); }
    assert.equal(serverState('legacy'), before);
  });
});

describe('full speed, nothing of the machinery visible, honest counts and errors', () => {
  before(() => {
    psql(pg.adminUrl, `CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 6000) g;
      CREATE TABLE "MixedCase" (x int); ANALYZE; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst;
      ALTER DATABASE regress SET parallel_setup_cost = 0; ALTER DATABASE regress SET parallel_tuple_cost = 0;
      ALTER DATABASE regress SET min_parallel_table_scan_size = 0; ALTER DATABASE regress SET max_parallel_workers_per_gather = 2`, 'regress');
  });

  test('a SELECT runs in parallel when PostgreSQL plans it so, without a cursor', async () => {
    const host = hostFor('regress');
    const watcher = new Client({ connectionString: url('regress', 'postgres') });
    await watcher.connect();
    try {
      let workers = 0;
      let done = false;
      const run = call(host, 'execute_query', { query: 'SELECT count(*) FROM t WHERE pg_sleep(0.001) IS NOT NULL', timeout: 60 }).finally(() => { done = true; });
      while (!done) {
        const r = await watcher.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND datname = 'regress'`);
        workers = Math.max(workers, r.rows[0].n);
        await new Promise(res => setTimeout(res, 50));
      }
      const r = await run;
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, /\n6000$/m);
      assert.ok(workers > 0, 'parallel workers ran the query');
      const cursors = await call(host, 'execute_query', { query: 'SELECT name FROM pg_cursors' });
      // only the statement's own unnamed protocol portal, as for any extended-protocol client; no tool cursor
      assert.deepEqual((cursors.parts[0] as { rows: unknown[][] }).rows, [['']]);
    } finally { await watcher.end(); await host.dispose(); }
  });

  test('max_rows is honest; the statement keeps its order, LIMIT, comments, semicolon, duplicate names', async () => {
    const host = hostFor('regress');
    try {
      const rows = async (input: Record<string, unknown>) => {
        const r = await call(host, 'execute_query', input);
        assert.equal(r.isError, undefined, `${JSON.stringify(input)}: ${r.text}`);
        return { rows: (r.parts[0] as { rows: unknown[][] }).rows, truncated: (r.parts[0] as { truncated: boolean }).truncated };
      };
      assert.deepEqual(await rows({ query: 'SELECT id FROM t ORDER BY id DESC', max_rows: 3 }), { rows: [[6000], [5999], [5998]], truncated: true });
      assert.deepEqual(await rows({ query: 'SELECT id FROM t ORDER BY id LIMIT 3', max_rows: 3 }), { rows: [[1], [2], [3]], truncated: false });
      assert.deepEqual(await rows({ query: 'SELECT id FROM t ORDER BY id LIMIT 4', max_rows: 3 }), { rows: [[1], [2], [3]], truncated: true });
      assert.deepEqual(await rows({ query: '/* lead */ -- line\n  SELECT 1 AS a, 2 AS a; -- trailing comment' }), { rows: [[1, 2]], truncated: false });
      assert.deepEqual(await rows({ query: 'SELECT 1 -- no newline at the end' }), { rows: [[1]], truncated: false });
      assert.deepEqual(await rows({ query: 'VALUES (1), (2) ORDER BY 1 DESC', max_rows: 1 }), { rows: [[2]], truncated: true });
      assert.deepEqual(await rows({ query: 'TABLE "MixedCase"' }), { rows: [], truncated: false });
      const rec = await rows({ query: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r' });
      assert.equal(cellText(rec.rows[0][0]), '15'); // int8: a string or a bigint, depending on the value model
      assert.deepEqual((await rows({ query: 'SELECT $1::int + 1 AS x', params: [41] })).rows, [[42]]);
    } finally { await host.dispose(); }
  });

  test('errors: SQLSTATE and message as PostgreSQL reports them, positions relative to the query as written', async () => {
    const host = hostFor('regress');
    try {
      for (const q of ['SELECT nosuch FROM t', '/* a comment */\n  SELECT id,\n  nosuch FROM t;', "SELECT 'été', nosuch FROM t", 'SELECT * FROM nosuchtable', 'SELECT 1/0', 'SELECT id FROM t WHERE id = $1']) {
        const r = await call(host, 'execute_query', { query: q, params: q.includes('$1') ? ['x'] : undefined });
        assert.equal(r.isError, true, q);
        const ref = await direct('regress', c => c.query(q, q.includes('$1') ? ['x'] : undefined).then(() => { throw new Error('no error'); }, (e: { code: string; message: string; position?: string }) => e));
        assert.ok(r.text.startsWith(`PostgreSQL ERROR ${ref.code}: ${ref.message}`), `${q}: ${r.text}`);
        if (ref.position) assert.match(r.text, new RegExp(`at character ${ref.position} \\(`), `${q}: ${r.text}`);
        else assert.doesNotMatch(r.text, /at character/);
        assert.doesNotMatch(r.text, /connect/i, 'a query error is not a connection problem');
      }
      const pos = await call(host, 'execute_query', { query: 'SELECT id,\n  nosuch FROM t' });
      assert.match(pos.text, /at character 14 \(line 2, column 3\)/);
      // a syntax error is found by the guard's parser, at the position PostgreSQL gives
      for (const [q, at] of [['SELEC 1', 1], ['SELECT 1 +', 11], ["SELECT 'é', 1 1", 15]] as const) {
        const r = await call(host, 'execute_query', { query: q });
        const ref = await direct('regress', c => c.query(q).then(() => { throw new Error('no error'); }, (e: { position: string }) => e));
        assert.equal(Number(ref.position), at);
        assert.match(r.text, new RegExp(`does not parse: syntax error .* at character ${at} \\(column ${at}\\)`), r.text);
      }
    } finally { await host.dispose(); }
  });
});

describe('catalog tools', () => {
  test('names resolve as SQL does: unquoted fold to lower case, quoted stay exact', async () => {
    const host = hostFor('tpch');
    try {
      for (const name of ['LINEITEM', 'lineitem', 'public.LineItem', 'PUBLIC.lineitem', ' lineitem ', '"lineitem"', 'public."lineitem"']) {
        const r = await call(host, 'describe_table', { table_name: name });
        assert.equal(r.isError, undefined, `${name}: ${r.text}`);
        assert.match(r.text, /CREATE TABLE public\.lineitem/);
        const s = await call(host, 'get_table_sample', { table_name: name, n: 3 });
        assert.equal(s.isError, undefined, `${name}: ${s.text}`);
      }
      const quoted = await call(host, 'describe_table', { table_name: '"LINEITEM"' });
      assert.equal(quoted.isError, true);
      assert.match(quoted.text, /No table or view named ""LINEITEM"" \(looked for LINEITEM; unquoted names fold to lower case/);
      for (const bad of ['"a"b', 'a"b"', '"unterminated', 'a..b', 'a.b.c']) {
        const r = await call(host, 'describe_table', { table_name: bad });
        assert.match(r.text, /is not a table name/, bad);
      }
    } finally { await host.dispose(); }
    const reg = hostFor('regress');
    try {
      assert.equal((await call(reg, 'describe_table', { table_name: '"MixedCase"' })).isError, undefined);
      const miss = await call(reg, 'describe_table', { table_name: 'MixedCase' });
      assert.match(miss.text, /looked for mixedcase.*Tables here include: public\."MixedCase"/s);
    } finally { await reg.dispose(); }
  });

  test('get_table_sample draws rows from all over the table', async () => {
    const host = hostFor('tpch');
    try {
      const pages = Number(psql(pg.adminUrl, "SELECT relpages FROM pg_class WHERE relname = 'lineitem'", 'tpch'));
      const r = await call(host, 'get_table_sample', { table_name: 'lineitem', n: 10 });
      assert.equal(r.isError, undefined, r.text);
      assert.match(r.text, new RegExp(`^10 random rows of public\\.lineitem \\(60,175 rows in all, counted\\) drawn from ~64 of its ${pages.toLocaleString('en-US')} pages`));
      // lineitem was loaded in l_orderkey order: the key says where a row sits in the table
      const t = r.parts[0] as { columns: { name: string }[]; rows: unknown[][] };
      const k = t.columns.findIndex(c => c.name === 'l_orderkey');
      const tenths = new Set(t.rows.map(row => Math.floor((Number(row[k]) / 60_000) * 10)));
      assert.ok(tenths.size >= 4, `rows come from ${tenths.size} tenths of the table`);
    } finally { await host.dispose(); }
  });

  test('get_schema on a large database summarises every table within the budget', async () => {
    const tables = Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    psql(pg.adminUrl, `CREATE SCHEMA wide; ${tables.map(t => `CREATE TABLE wide.${t} (id int primary key, ${Array.from({ length: 11 }, (_, j) => `column_number_${j} text`).join(', ')});`).join(' ')}
      CREATE TABLE wide.zzz_last (id int primary key); GRANT USAGE ON SCHEMA wide TO analyst`, 'regress');
    const host = hostFor('regress');
    try {
      const r = await call(host, 'get_schema', {});
      assert.equal(r.isError, undefined, r.text);
      assert.ok(r.text.length <= 12_500, `${r.text.length} chars`);
      for (const t of [...tables, 'zzz_last']) assert.ok(r.text.includes(`wide.${t}`), `wide.${t} is in the overview`);
      assert.match(r.text, /^-- 303 tables and views; every one summarised first/);
      // a small database still gets full DDL
      // what is left of the budget goes to detail for the first tables
      assert.match(r.text, /\nwide\.t000: id, column_number_0, .*column_number_10; PRIMARY KEY \(id\)\n/);
    } finally { await host.dispose(); }
    const tpch = hostFor('tpch');
    try {
      const small = await call(tpch, 'get_schema', {});
      assert.match(small.text, /^CREATE TABLE public\.customer \(/);
      assert.match(small.text, /CREATE TABLE public\.supplier \(/);
    } finally { await tpch.dispose(); }
  });
});

test('EXPLAIN options: only a clearly false ANALYZE makes EXPLAIN of a write plain', () => {
  const policy = { deniedFunctions: DEFAULT_DENIED_FUNCTIONS, timeoutSec: 30 };
  const verdict = (q: string) => { const v = checkQuery(q, policy); return v.ok ? 'ok' : v.class; };
  for (const q of ['EXPLAIN DELETE FROM t', 'EXPLAIN (ANALYZE off) DELETE FROM t', 'EXPLAIN (ANALYZE 0) DELETE FROM t', "EXPLAIN (ANALYZE 'off') DELETE FROM t",
    'EXPLAIN (ANALYZE FALSE, COSTS off) DELETE FROM t', 'EXPLAIN (ANALYZE no) DELETE FROM t', 'EXPLAIN DECLARE c CURSOR FOR SELECT 1',
    'EXPLAIN (ANALYZE) SELECT 1', 'EXPLAIN SELECT * FROM t FOR UPDATE', 'EXPLAIN MERGE INTO t USING t s ON true WHEN MATCHED THEN DELETE']) {
    assert.equal(verdict(q), 'ok', q);
  }
  for (const q of ['EXPLAIN ANALYZE DELETE FROM t', 'EXPLAIN (ANALYZE on) DELETE FROM t', 'EXPLAIN (ANALYZE 1) DELETE FROM t', 'EXPLAIN (ANALYZE true, COSTS false) DELETE FROM t',
    'EXPLAIN ANALYZE VERBOSE DELETE FROM t', 'EXPLAIN (ANALYZE) DECLARE c CURSOR FOR SELECT 1', 'EXPLAIN (ANALYZE yes) DELETE FROM t', 'EXPLAIN (ANALYZE 0.0) DELETE FROM t']) {
    assert.equal(verdict(q), 'explain-analyze-write', q);
  }
  assert.equal(verdict('EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE'), 'row-locks');
  assert.equal(verdict('EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d'), 'writable-cte');
  assert.equal(verdict('EXPLAIN SELECT pg_advisory_lock(1)'), 'server-state-function', 'the deny lists apply inside EXPLAIN too');
});
