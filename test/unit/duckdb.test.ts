// The DuckDB engine over MCP (the real bundled server, the client SDK): a value corpus compared cell by cell with
// @duckdb/node-api used directly (also run under TZ=Asia/Tokyo and TZ=America/New_York: nothing may depend on the
// host's zone); every refusal, with a fingerprint of the file system (the root's files and the .duckdb file's
// bytes and mtime) before and after; a CSV/Parquet join over files under the root; a file outside it refused; the
// catalog tools on a .duckdb file opened read-only and on the in-memory engine; timeout, cancel, max_rows.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { IN_TZ_CHILD, printsZoneSummary, runTestFileUnderZones } from '../helpers/tz';
import { toJsonValue } from '../../src/core/values';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { listColumns, listRelations, listSchemas } from '../../src/core/db/explore';

const root = tmpDir('duck-root');
const outside = tmpDir('duck-outside');
const dbDir = tmpDir('duck-file');
const work = tmpDir('duck-work');
const DB_FILE = path.join(dbDir, 'shop.duckdb');
const SECRET = path.join(outside, 'secret.csv');
const sq = (p: string) => `'${p.replace(/'/g, "''")}'`;

type Mcp = Awaited<ReturnType<typeof connectMcp>>;
let mem: Mcp;
let file: Mcp;

// the server runs under the test's zone too (TZ child runs)
const env = (url: string) => ({ ...(process.env.TZ ? { TZ: process.env.TZ } : {}), DATABASE_URL: url, DATATOOLS_ALLOWED_PATHS: root, DATATOOLS_WORK_DIR: work, DATATOOLS_AUDIT_LOG: path.join(work, 'audit.jsonl') });

before(async () => {
  fs.writeFileSync(path.join(root, 'customers.csv'), 'id,name\n1,Ada\n2,Grace\n3,Linus\n');
  fs.writeFileSync(SECRET, 'password\nhunter2\n');
  // links inside the root to the outside: DuckDB resolves them and refuses
  fs.symlinkSync(SECRET, path.join(root, 'link.csv'));
  fs.symlinkSync(outside, path.join(root, 'linkdir'));
  const inst = await DuckDBInstance.create(DB_FILE);
  const c = await inst.connect();
  await c.run(`COPY (SELECT * FROM (VALUES (1, 1, 10.50::DECIMAL(10,2)), (2, 1, 2.25), (3, 3, 99.99)) t(order_id, customer_id, amount)) TO ${sq(path.join(root, 'orders.parquet'))} (FORMAT parquet)`);
  await c.run(`CREATE TABLE items (id INTEGER PRIMARY KEY, label VARCHAR NOT NULL, price DECIMAL(12,3) DEFAULT 0)`);
  await c.run(`INSERT INTO items SELECT i, 'item ' || i, i * 1.5 FROM range(1, 10001) r(i)`);
  await c.run(`CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10`);
  c.closeSync();
  inst.closeSync();
  mem = await connectMcp(env('duckdb:'));
  file = await connectMcp({ ...env(`duckdb://${DB_FILE}`) });
});
after(async () => { await mem?.close(); await file?.close(); });

type Reply = { isError?: unknown; content?: unknown; structuredContent?: unknown };
const text = (r: Reply) => (r.content as { text: string }[])[0].text;
async function call(m: Mcp, name: string, args: Record<string, unknown>, opts?: { signal?: AbortSignal }): Promise<Reply> {
  return m.client.callTool({ name, arguments: args }, undefined, opts) as Promise<Reply>;
}
const table = (r: Reply) => (r.structuredContent as { tables: { columns: { name: string; type: string }[]; rows: unknown[][]; truncated: boolean }[] }).tables[0];

/** What the query may have changed: the root's files (names, sizes, mtimes) and the .duckdb file's bytes and mtime. */
function fingerprint(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { out.push(`${p}/`); walk(p); } else { const s = fs.statSync(p); out.push(`${p} ${s.size} ${s.mtimeMs}`); }
    }
  };
  walk(root); walk(outside); walk(dbDir);
  out.push(crypto.createHash('sha256').update(fs.readFileSync(DB_FILE)).digest('hex'), String(fs.statSync(DB_FILE).mtimeMs));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// the value corpus: each expression once through the server, once through DuckDB directly

const trimFrac = (s: string) => s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
/** DuckDB's value → the value model, written independently of the engine's conversions (from DuckDB's own text). */
function fromDuck(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v;
  const c = (v as object).constructor.name;
  const s = String(v);
  switch (c) {
    case 'DuckDBDecimalValue': case 'DuckDBDateValue': case 'DuckDBUUIDValue': case 'DuckDBBitValue': return s;
    case 'DuckDBTimestampValue': case 'DuckDBTimestampMillisecondsValue': case 'DuckDBTimestampNanosecondsValue': case 'DuckDBTimestampSecondsValue':
      return trimFrac(s.replace(' ', 'T'));
    case 'DuckDBTimestampTZValue': {
      // node-api prints it in the host's zone: the reference is its microseconds, placed by JS's UTC calendar
      const us = (v as { micros: bigint }).micros;
      const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
      const iso = new Date(Number(ms)).toISOString().slice(0, 19);
      const frac = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n;
      return `${trimFrac(`${iso}.${String(frac).padStart(6, '0')}`)}Z`;
    }
    case 'DuckDBTimeValue': case 'DuckDBTimeNSValue': return trimFrac(s);
    case 'DuckDBBlobValue': return (v as { bytes: Uint8Array }).bytes;
    case 'DuckDBListValue': case 'DuckDBArrayValue': return (v as { items: unknown[] }).items.map(fromDuck);
    case 'DuckDBStructValue': return Object.fromEntries(Object.entries((v as { entries: Record<string, unknown> }).entries).map(([k, x]) => [k, fromDuck(x)]));
    case 'DuckDBMapValue': return (v as { entries: { key: unknown; value: unknown }[] }).entries.map(e => [fromDuck(e.key), fromDuck(e.value)]);
    default: return `<unhandled DuckDB ${c}: ${s}>`;
  }
}

/** [expression, its DuckDB type name in the result, the value model's JSON when DuckDB's text is not that form]. */
const CORPUS: [string, string, unknown?][] = [
  ['true', 'boolean'], ['(-128)::TINYINT', 'tinyint'], ['32767::SMALLINT', 'smallint'], ['(-2147483648)::INTEGER', 'integer'],
  ['9223372036854775807::BIGINT', 'bigint'], ['(-9223372036854775808)::BIGINT', 'bigint'], ['9007199254740993::BIGINT', 'bigint'],
  ['170141183460469231731687303715884105727::HUGEINT', 'hugeint'], ['(-170141183460469231731687303715884105728)::HUGEINT', 'hugeint'],
  ['340282366920938463463374607431768211455::UHUGEINT', 'uhugeint'],
  ['255::UTINYINT', 'utinyint'], ['65535::USMALLINT', 'usmallint'], ['4294967295::UINTEGER', 'uinteger'], ['18446744073709551615::UBIGINT', 'ubigint'],
  ['1.5::FLOAT', 'float'], ['0.1::DOUBLE', 'double'], ["'NaN'::DOUBLE", 'double'], ["'-Infinity'::DOUBLE", 'double'],
  ['(-123.450)::DECIMAL(9,3)', 'decimal(9,3)'], ['12345678901234567890.123456789012345678::DECIMAL(38,18)', 'decimal(38,18)'], ['0.000001::DECIMAL(18,6)', 'decimal(18,6)'],
  ["DATE '2024-02-29'", 'date'], ["DATE '0001-01-01'", 'date'], ["DATE '9999-12-31'", 'date'],
  ["TIME '23:59:59.999999'", 'time'], ["TIME '00:00:00'", 'time'],
  ["TIMESTAMP '2024-03-10 02:30:00.123456'", 'timestamp'], ["TIMESTAMP '1969-12-31 23:59:59.5'", 'timestamp'],
  ["TIMESTAMP_S '2024-03-10 02:30:00'", 'timestamp_s'], ["TIMESTAMP_MS '2024-03-10 02:30:00.123'", 'timestamp_ms'],
  ["TIMESTAMP_NS '2024-03-10 02:30:00.123456789'", 'timestamp_ns'],
  ["TIMESTAMPTZ '2024-03-10 02:30:00.25+09:00'", 'timestamp with time zone'], ["TIMESTAMPTZ '2024-11-03 01:30:00-04'", 'timestamp with time zone'],
  ["TIMETZ '12:34:56+05:30'", 'time with time zone', '12:34:56+05:30'],
  ["INTERVAL '1 year 2 months 3 days 04:05:06.5'", 'interval', 'P1Y2M3DT4H5M6.5S'], ["INTERVAL '-1 day -02:00:00'", 'interval', 'P-1DT-2H'],
  ["INTERVAL '0 seconds'", 'interval', 'PT0S'],
  ["'\\x00\\xFF'::BLOB", 'blob'], ["''::BLOB", 'blob'],
  ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID", 'uuid'],
  ["'héllo ✓'", 'varchar'], ["''", 'varchar'],
  ["'sad'::ENUM('sad', 'ok', 'happy')", "enum('sad', 'ok', 'happy')", 'sad'],
  ["'10110'::BIT", 'bit'],
  ['[1, NULL, 3]', 'integer[]'], ["[[DATE '2020-01-01'], []]", 'date[][]'], ['[1.5, 2.25]::DECIMAL(5,2)[]', 'decimal(5,2)[]'],
  ["{'a': 1, 'b': [9223372036854775807]}", 'struct("a" integer, "b" bigint[])'],
  ["MAP {'k': TIMESTAMP '2020-01-01 00:00:00', 'l': NULL}", 'map(varchar, timestamp)'],
  ['[1, 2, 3]::INTEGER[3]', 'integer[3]'],
  ['NULL::INTEGER', 'integer'], ['NULL', 'integer'],
  ['union_value(num := 2)::UNION(num INTEGER, str VARCHAR)', 'union("num" integer, "str" varchar)', { num: 2 }],
  ["'POINT(1 2)'::GEOMETRY", 'geometry', '\\x0101000000000000000000f03f0000000000000040'],
  ["'infinity'::DATE", 'date', 'infinity'], ["'-infinity'::TIMESTAMP", 'timestamp', '-infinity'], ["'infinity'::TIMESTAMPTZ", 'timestamp with time zone', 'infinity'],
  // no offset: read in the engine's zone, pinned to UTC (never the host's)
  ["TIMESTAMPTZ '2024-11-03 01:30:00'", 'timestamp with time zone', '2024-11-03T01:30:00Z'],
  ["(TIMESTAMP '2024-03-31 02:30:00')::TIMESTAMPTZ", 'timestamp with time zone', '2024-03-31T02:30:00Z'],
  ["hour(TIMESTAMPTZ '2024-01-01 23:00:00+00')", 'bigint', 23],
];

test('value corpus: every cell equals DuckDB\'s own value in the value model, and the types are DuckDB\'s', async () => {
  const sql = `SELECT ${CORPUS.map(([e], i) => `${e} AS c${i}`).join(', ')}`;
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run("SET TimeZone = 'UTC'"); // the reference prints TIMESTAMPTZ in UTC
  const ref = (await c.runAndReadAll(sql)).getRows()[0];
  c.closeSync();
  const r = await call(mem, 'execute_query', { query: sql });
  assert.ok(!r.isError, text(r));
  const t = table(r);
  let compared = 0;
  const problems: string[] = [];
  CORPUS.forEach(([expr, type, given], i) => {
    const want = toJsonValue(given !== undefined ? given : fromDuck(ref[i]));
    const got = t.rows[0][i];
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${expr}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (t.columns[i].type !== type) problems.push(`${expr}: type ${t.columns[i].type}, want ${type}`);
    compared++;
  });
  assert.deepEqual(problems, []);
  // the text the model reads keeps the exact digits
  assert.match(text(r), /170141183460469231731687303715884105727/);
  assert.match(text(r), /12345678901234567890\.123456789012345678/);
  console.log(`[TZ=${process.env.TZ ?? ''}] ${compared} DuckDB cells compared, ${problems.length} problems`);
});

test('values do not depend on the host time zone (the corpus under Asia/Tokyo and America/New_York)', { timeout: 300_000, skip: IN_TZ_CHILD ? 'inside a TZ child run' : false }, () => {
  runTestFileUnderZones(__filename, (stdout, tz) => {
    printsZoneSummary(stdout, tz);
    assert.match(stdout, new RegExp(`\\[TZ=${tz}\\] \\d+ DuckDB cells compared, 0 problems`));
  }, ['--test-name-pattern=value corpus']);
});

// ---------------------------------------------------------------------------------------------------------------

test('a CSV and a Parquet file under the root join; relative paths get the absolute one to write', async () => {
  const r = await call(mem, 'execute_query', { query: `SELECT c.name, sum(o.amount) AS total FROM ${sq(path.join(root, 'customers.csv'))} c
     JOIN read_parquet(${sq(path.join(root, 'orders.parquet'))}) o ON o.customer_id = c.id GROUP BY c.name ORDER BY c.name` });
  assert.ok(!r.isError, text(r));
  assert.deepEqual(table(r).rows, [['Ada', '12.75'], ['Linus', '99.99']]);
  const rel = await call(mem, 'execute_query', { query: "SELECT * FROM 'customers.csv'" });
  assert.equal(rel.isError, true);
  assert.match(text(rel), new RegExp(`relative path "customers.csv".*${path.join(root, 'customers.csv').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
});

const REFUSALS: [string, RegExp][] = [
  [`COPY (SELECT 1) TO ${sq(path.join(root, 'out.csv'))}`, /Refused: COPY/],
  [`COPY items TO ${sq(path.join(root, 'out.parquet'))} (FORMAT parquet)`, /Refused: COPY/],
  [`EXPORT DATABASE ${sq(path.join(root, 'exp'))}`, /Refused: EXPORT DATABASE/],
  [`ATTACH ${sq(path.join(root, 'new.duckdb'))} AS n`, /Refused: ATTACH/],
  ["ATTACH ':memory:' AS m", /Refused: ATTACH/],
  ['INSTALL httpfs', /Refused: INSTALL/], ['LOAD httpfs', /Refused: LOAD/], ['FORCE INSTALL json', /Refused: FORCE INSTALL/],
  ['SET enable_external_access = true', /Refused: SET/], ['RESET allowed_directories', /Refused: RESET/],
  ["SET allowed_directories = ['/']", /Refused: SET/],
  ["CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", /Refused: CREATE/],
  ['CREATE TABLE t AS SELECT 1', /Refused: CREATE/], ['INSERT INTO items VALUES (0, \'x\', 0)', /Refused: INSERT/],
  ['UPDATE items SET label = \'x\'', /Refused: UPDATE/], ['DELETE FROM items', /Refused: DELETE/], ['DROP TABLE items', /Refused: DROP/],
  ['/* hidden */ -- line\n  insert into items values (0, \'x\', 0)', /Refused: INSERT/],
  // (in memory there is no table to bind: DuckDB's binder stops it first)
  ['WITH x AS (SELECT 1) INSERT INTO items SELECT 0, \'x\', 0', /Refused: INSERT|Table with name items does not exist/],
  ['EXPLAIN ANALYZE INSERT INTO items VALUES (0, \'x\', 0)', /Refused: INSERT/],
  ['EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1', /Refused: CREATE/],
  ['CHECKPOINT', /Refused: CHECKPOINT/], ['PRAGMA enable_profiling', /Refused: this PRAGMA/], ["CALL pragma_version()", /Refused: CALL/],
  ['BEGIN TRANSACTION', /Refused: transaction control/],
  ['SELECT * FROM duckdb_secrets()', /Refused: the secrets functions/],
  // table functions with side effects that DuckDB types as SELECT (one pointed outside the roots aborted the process)
  ["SELECT * FROM enable_logging(storage='file', storage_path='/etc/x')", /Refused: enable_logging\(\) changes the engine or writes files/],
  [`SELECT * FROM enable_logging(storage='file', storage_path=${sq(path.join(root, 'logs'))})`, /Refused: enable_logging\(\)/],
  ['SELECT * FROM "Enable_Logging" /* x */ -- y\n (storage=\'memory\')', /Refused: enable_logging\(\)/],
  [`SELECT * FROM enable_profiling(save_location=${sq(path.join(root, 'prof.json'))})`, /Refused: enable_profiling\(\)/],
  ['SELECT * FROM disable_logging()', /Refused: disable_logging\(\)/], ['SELECT * FROM truncate_duckdb_logs()', /Refused: truncate_duckdb_logs\(\)/],
  ['SELECT * FROM enable_peg_parser()', /Refused: enable_peg_parser\(\)/], ['SELECT * FROM checkpoint()', /Refused: checkpoint\(\)/],
  ["SELECT * FROM query('SELECT * FROM duckdb_' || 'secrets()')", /Refused: query\(\) runs SQL given as a string/],
  ["SELECT * FROM query_table('items')", /Refused: query_table\(\) runs SQL given as a string/],
  ["SELECT {'__proto__': 1, 'b': 2} AS s", /Refused: a struct field named __proto__/],
  [`SELECT * FROM read_csv(${sq(SECRET)})`, /Refused by DuckDB: Permission Error: Cannot access file/],
  [`SELECT * FROM read_text(${sq(path.join(root, '..', path.basename(outside), 'secret.csv'))})`, /Refused by DuckDB: Permission Error/],
  [`SELECT * FROM glob(${sq(`${outside}/*`)})`, /Refused by DuckDB: Permission Error/],
  ["SELECT * FROM read_text('/etc/passwd')", /Refused by DuckDB: Permission Error/],
  [`SELECT * FROM read_csv(${sq(path.join(root, 'link.csv'))})`, /Refused by DuckDB: Permission Error/],
  [`SELECT * FROM read_csv(${sq(path.join(root, 'linkdir', 'secret.csv'))})`, /Refused by DuckDB: Permission Error/],
  ["SELECT * FROM read_csv('https://example.invalid/x.csv')", /DuckDB|Refused/],
  ['SELECT 1::VARIANT', /Refused: DuckDB type VARIANT cannot be returned exactly/],
  ['SELECT 1; SELECT 2', /Refused: exactly one statement/],
  ['SELECT 1; COPY (SELECT 1) TO \'x.csv\'', /Refused: exactly one statement/],
];

for (const [name, m] of [['in-memory', () => mem], ['read-only file', () => file]] as const) {
  test(`refusals on the ${name} engine, with the file system unchanged`, async () => {
    const before = fingerprint();
    const problems: string[] = [];
    for (const [q, want] of REFUSALS) {
      const r = await call(m(), 'execute_query', { query: q });
      if (!r.isError || !want.test(text(r))) problems.push(`${q}: ${r.isError ? 'error' : 'ran'}: ${text(r).slice(0, 300)}`);
    }
    assert.deepEqual(problems, []);
    assert.equal(fingerprint(), before, 'nothing under the roots nor the .duckdb file changed');
    assert.ok(!fs.readdirSync(root).some(f => /^(out|exp|new)/.test(f)));
    // the secret never shows, and the engine still answers
    const ok = await call(m(), 'execute_query', { query: 'SELECT 42 AS x' });
    assert.deepEqual(table(ok).rows, [[42]]);
  });
}

test('the .duckdb file: catalog tools, reads allowed, the file opened read-only', async () => {
  const lt = await call(file, 'list_tables', {});
  assert.ok(!lt.isError, text(lt));
  assert.match(text(lt), /main\.items \(table, ~10,000 rows\)/);
  assert.match(text(lt), /main\.cheap \(view\)/);
  const d = await call(file, 'describe_table', { table_name: 'ITEMS' });
  assert.ok(!d.isError, text(d));
  assert.match(text(d), /CREATE TABLE main\.items/);
  assert.match(text(d), /label VARCHAR NOT NULL/);
  assert.match(text(d), /price DECIMAL\(12,3\) DEFAULT/);
  assert.match(text(d), /PRIMARY KEY\(id\)/);
  const gs = await call(file, 'get_schema', {});
  assert.ok(!gs.isError, text(gs));
  assert.match(text(gs), /items/);
  assert.match(text(gs), /cheap/);
  const s = await call(file, 'get_table_sample', { table_name: 'items', n: 40 });
  assert.ok(!s.isError, text(s));
  assert.match(text(s), /40 random rows of main\.items \(10,000 rows in all, counted\)/);
  const ids = table(s).rows.map(r => Number(r[0]));
  assert.equal(ids.length, 40);
  // from all over the table: not one block of it
  assert.ok(Math.min(...ids) < 2500 && Math.max(...ids) > 7500, `sample ids ${ids.join(',')}`);
  const q = await call(file, 'execute_query', { query: 'SELECT price FROM items WHERE id = $1', params: [3] });
  assert.deepEqual(table(q).rows, [['4.500']]);
  const nf = await call(file, 'describe_table', { table_name: 'nope' });
  assert.equal(nf.isError, true);
  assert.match(text(nf), /No table or view named "nope".*items/);
});

test('the in-memory engine with no tables says how to read files', async () => {
  const lt = await call(mem, 'list_tables', {});
  assert.ok(!lt.isError, text(lt));
  assert.match(text(lt), /in-memory DuckDB: it has no tables.*SELECT \* FROM '.*sales\.parquet'/s);
  const gs = await call(mem, 'get_schema', {});
  assert.match(text(gs), /in-memory DuckDB/);
});

test('max_rows stops the stream and says so; count gives the total', async () => {
  const r = await call(mem, 'execute_query', { query: 'SELECT * FROM range(100000) t(i)', max_rows: 10 });
  assert.ok(!r.isError, text(r));
  assert.equal(table(r).rows.length, 10);
  assert.equal(table(r).truncated, true);
  assert.match(text(r), /TRUNCATED at max_rows=10/);
  const c = await call(mem, 'execute_query', { query: 'SELECT * FROM range(100000) t(i);', max_rows: 10, count: true });
  assert.match(text(c), /100,000 rows in all \(counted\)/);
});

test('the byte budget stops the rows and says where', async () => {
  const small = await connectMcp({ ...env('duckdb:'), DATATOOLS_MAX_RESULT_MB: '1' });
  try {
    const r = await small.client.callTool({ name: 'execute_query', arguments: { query: "SELECT i, repeat('x', 1000) FROM range(5000) t(i)" } }) as Reply;
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /TRUNCATED: stopped at row/);
    const at = Number(/stopped at row ([\d,]+)/.exec(text(r))?.[1].replace(/,/g, ''));
    assert.ok(at < 1100 && at > 900, text(r).slice(0, 300));
  } finally { await small.close(); }
});

test('a timeout interrupts the query; a cancel stops it; the engine keeps serving', async () => {
  const slow = 'SELECT count(*) FROM range(100000000000) a(x) WHERE x % 7 = 3';
  const t0 = Date.now();
  const r = await call(mem, 'execute_query', { query: slow, timeout: 1 });
  assert.equal(r.isError, true);
  assert.match(text(r), /stopped after its 1 s timeout/);
  assert.ok(Date.now() - t0 < 10_000);
  const ac = new AbortController();
  const p = call(mem, 'execute_query', { query: slow, timeout: 60 }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 500);
  await assert.rejects(p);
  // a cancel while rows stream is a cancel, not a short result that looks whole (in process: an MCP client gives
  // up on its own at the cancel and never reads what the tool answered)
  const host = new ToolHost(resolveConfig({ databaseUrl: 'duckdb:', allowedPaths: [root], auditLogPath: path.join(work, 'cancel.jsonl'), limits: { maxRows: 10_000_000 } }));
  try {
    const ac2 = new AbortController();
    // (before the fix: "75,776 rows returned in 300 ms (complete)", outcome ok)
    const streaming = host.call('execute_query', { query: 'SELECT x FROM range(5000000) r(x)', max_rows: 5_000_000 }, { caller: 'test', signal: ac2.signal });
    setTimeout(() => ac2.abort(), 300);
    const r2 = await streaming;
    assert.equal(r2.isError, true, r2.text.slice(0, 300));
    assert.match(r2.text, /cancelled/i);
  } finally { await host.dispose(); }
  const ok = await call(mem, 'execute_query', { query: 'SELECT 1 AS one' });
  assert.deepEqual(table(ok).rows, [[1]]);
});

test('the Data Explorer tree reads a .duckdb file (schemas, relations, columns with the primary key), named through connections', async () => {
  const host = new ToolHost(resolveConfig({ connections: [{ name: 'shop', url: `duckdb://${DB_FILE}` }], activeConnection: 'shop', allowedPaths: [root], auditLogPath: path.join(work, 'tree.jsonl') }));
  try {
    const ctx = { config: host.config, services: host.services, signal: new AbortController().signal, caller: 'test' as const };
    assert.deepEqual(await listSchemas(ctx, 'shop'), [{ name: 'main', relations: 2 }]);
    const rels = await listRelations(ctx, 'main', 'shop');
    assert.deepEqual(rels.items.map(r => [r.name, r.kind, r.rows]), [['cheap', 'view', null], ['items', 'table', 10000]]);
    const cols = await listColumns(ctx, 'main', 'items', 'shop');
    assert.deepEqual(cols.map(c => [c.name, c.type, c.nullable, c.primaryKey]), [['id', 'INTEGER', false, true], ['label', 'VARCHAR', false, false], ['price', 'DECIMAL(12,3)', true, false]]);
  } finally { await host.dispose(); }
});
