import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

// Issue 15, bounded memory: values and results too large for the server are stopped at the source (on the wire,
// before the driver builds strings), limits the agent passes are ceilings, and the server's PEAK memory stays
// bounded across all of it. Each fault: a clear tool error or a bounded reply, one audit line, the session alive.

/** The server's peak resident memory (VmHWM), MB. */
function peakMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmHWM in /proc/<pid>/status');
  return Number(m[1]) / 1024;
}

type Reply = { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };
const textOf = (r: Reply) => r.content.filter(c => c.type === 'text').map(c => c.text ?? '').join('\n');

async function session(env: Record<string, string>) {
  const dir = tmpDir('faults');
  const audit = path.join(dir, 'audit.jsonl');
  const s = await connectMcp({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_AUDIT_LOG: audit, DATATOOLS_ALLOWED_PATHS: dir, ...env });
  assert.ok(s.pid, 'the server process id');
  const lines = () => (fs.existsSync(audit) ? fs.readFileSync(audit, 'utf8').split('\n').filter(Boolean) : []);
  const call = async (name: string, args: Record<string, unknown>, what: string) => {
    const before = lines().length;
    const t0 = performance.now();
    const r = await s.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Reply;
    const ms = Math.round(performance.now() - t0);
    const text = textOf(r);
    const after = lines();
    assert.equal(after.length, before + 1, `${what}: exactly one audit line`);
    // the session is alive: a following call answers
    const ping = await s.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 41 + 1 AS answer' } }) as Reply;
    assert.notEqual(ping.isError, true, `${what}: the session must survive (${textOf(ping).slice(0, 300)})`);
    assert.match(textOf(ping), /42/);
    const peak = peakMb(s.pid!);
    console.log(`  ${what}: ${r.isError ? 'tool error' : 'reply'} in ${ms} ms, ${text.length} chars; server peak ${peak.toFixed(0)} MB`);
    return { r, text, ms, entry: JSON.parse(after[after.length - 1]) as Record<string, unknown>, peak };
  };
  return { ...s, dir, call };
}

let pg: PgCluster;
before(async () => { pg = await startPostgres(); });
after(() => pg?.stop());

const PEAK_BOUND_MB = 600;
/** The sample (PostgreSQL in WebAssembly, capped at 256 MB, in a worker) adds about 450 MB to the server. */
const SAMPLE_PEAK_BOUND_MB = 750;

test('MCP + PostgreSQL: huge values, results over the byte budget, limits above their ceilings: bounded memory, clear replies', async () => {
  const s = await session({ DATABASE_URL: pg.url, DATATOOLS_MAX_RESULT_MB: '8', DATATOOLS_QUERY_TIMEOUT: '20', DATATOOLS_CODE_TIMEOUT: '20' });
  try {
    const start = peakMb(s.pid!);
    console.log(`  server peak at start: ${start.toFixed(0)} MB`);

    // one 300 MB value: refused at the row's first bytes, fast, not after the timeout
    let o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS big" }, "repeat('x', 300000000)");
    assert.equal(o.r.isError, true);
    assert.match(o.text, /row 1 of the result is 286\.1 MB, over the 64 MB limit on one row \(DATATOOLS_MAX_ROW_MB\)/);
    assert.match(o.text, /left\(col, n\).*octet_length/);
    assert.ok(o.ms < 15_000, `answered in ${o.ms} ms, before the 20 s timeout`);

    // two such values in one row: 600 MB, more than a JavaScript string can hold; the same clear refusal
    o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS a, repeat('y', 300000000) AS b" }, 'two 300 MB values in one row');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /row 1 of the result is 572\.2 MB, over the 64 MB limit on one row/);
    assert.ok(o.ms < 15_000, `answered in ${o.ms} ms`);

    // a result over the (test's) 8 MB budget: the rows so far, exact, and where and why it stopped
    o = await s.call('execute_query', { query: "SELECT g, repeat('z', 1000) AS pad FROM generate_series(1, 100000) g" }, 'a result over the 8 MB budget');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 400));
    const m = /^([\d,]+) rows returned in \d+ ms; TRUNCATED: stopped at row ([\d,]+), where the result reached the 8 MB budget on one result \(DATATOOLS_MAX_RESULT_MB\); at least ([\d,]+) rows in all/.exec(o.text);
    assert.ok(m, o.text.slice(0, 400));
    const [got, at] = [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))];
    assert.equal(at, got + 1);
    // each row is 1 + 4 + 4 + 2 + 4 + 4 + 1000 bytes on the wire (header, fields, lengths, text of g, pad)
    assert.ok(got > 7000 && got < 8400, `${got} rows under 8 MB`);
    const t = (o.r.structuredContent as { tables: { rows: unknown[][]; truncated: boolean }[] }).tables[0];
    assert.equal(t.truncated, true);
    t.rows.forEach((row, i) => { assert.equal(row[0], i + 1); assert.equal(row[1], 'z'.repeat(1000)); });

    // max_rows above the ceiling, with the total labelled a lower bound; count: true gives the exact total
    o = await s.call('execute_query', { query: 'SELECT g FROM generate_series(1, 30000) g', max_rows: 5_000_000 }, 'max_rows above the ceiling');
    assert.match(o.text, /^10,000 rows returned in \d+ ms; TRUNCATED at max_rows=10,000: the query has more rows, at least 10,001 rows in all/);
    assert.match(o.text, /max_rows=5,000,000 is above the configured limit of 10,000; 10,000 was used/);
    o = await s.call('execute_query', { query: 'SELECT g FROM generate_series(1, 30000) g WHERE g % $1 = 0', params: [3], max_rows: 100, count: true }, 'count: true');
    assert.match(o.text, /^100 rows returned .*TRUNCATED at max_rows=100: the query has more rows, 10,000 rows in all \(counted\)/);
    assert.equal((o.r.structuredContent as { tables: { totalRows?: number }[] }).tables[0].totalRows, 10_000);
    // a count that cannot finish in the time left: said, with the lower bound
    o = await s.call('execute_query', { query: 'SELECT a.x, b.y FROM generate_series(1, 100000) a(x), generate_series(1, 100000) b(y)', max_rows: 10, count: true, timeout: 2 }, 'count over the time limit');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 400));
    assert.match(o.text, /Total not counted: the count did not finish within the time limit; it is at least 11 rows\./);

    // a 96,000-character query of 24,000 chained terms: valid SQL, too deep to check; a clear refusal, fast
    o = await s.call('execute_query', { query: `SELECT 1${' + 1'.repeat(24_000)}` }, 'a 96,000-character chained expression');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /nested too deeply for the read-only check.*IN list/);
    // a 99,000-character IN list parses and runs (it once took 14 s and left the server at 900 MB)
    const list = Array.from({ length: 16_000 }, (_, i) => String(2 * i)).join(',');
    o = await s.call('execute_query', { query: `SELECT count(*) AS n FROM generate_series(1, 40000) g WHERE g IN (${list})` }, 'a 99,000-character IN list');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 300));
    assert.equal((o.r.structuredContent as { tables: { rows: unknown[][] }[] }).tables[0].rows[0][0], 15_999);

    // execute_query timeout above the ceiling
    o = await s.call('execute_query', { query: 'SELECT 1', timeout: 3600 }, 'query timeout above the ceiling');
    assert.match(o.text, /timeout=3,600 s is above the configured limit of 20 s; 20 s was used/);

    // a catalog tool on a table of large values: stopped at the budget with an error, never read whole
    psql(pg.adminUrl, "CREATE TABLE IF NOT EXISTS wide_values AS SELECT g AS id, repeat(md5(g::text), 100000) AS v FROM generate_series(1, 40) g");
    o = await s.call('get_table_sample', { table_name: 'wide_values', n: 40 }, 'get_table_sample over the result budget');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /^Stopped: the rows reached the 8 MB budget on one result \(DATATOOLS_MAX_RESULT_MB\) at row \d+\./);

    // a limit the agent passes for code is a ceiling too (the sandbox may be missing here: the note is what counts)
    o = await s.call('execute_code', { code: 'print(6 * 7)', timeout: 3600 }, 'execute_code timeout above the ceiling');
    assert.match(o.text, /\[limit\] timeout=3,600 s is above the configured limit of 20 s; 20 s was used/);
    assert.match(o.text, /\[stdout\]\n42\n/);

    // 300 MB printed, and the same string as the cell's value: both cut in the sandbox, with their sizes
    o = await s.call('execute_code', { code: "s = 'x' * 300_000_000\nprint(s)\ns" }, 'execute_code: 300 MB printed and displayed');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 400));
    assert.match(o.text, /\[output cap: [\d,]+ more bytes were dropped; print less\]/);
    assert.match(o.text, /\[Out \d+\] 'x{100}/);
    const shown = JSON.stringify(o.r.structuredContent ?? '');
    assert.ok(shown.length < 4_000_000, `structured part of ${shown.length} bytes`);

    const end = peakMb(s.pid!);
    console.log(`  server peak after the PostgreSQL faults: ${end.toFixed(0)} MB (bound ${PEAK_BOUND_MB} MB)`);
    assert.ok(end < PEAK_BOUND_MB, `server peak ${end.toFixed(0)} MB is over ${PEAK_BOUND_MB} MB`);
  } finally {
    await s.close();
  }
  assert.doesNotMatch(s.stderr(), /uncaught|unhandled|Cannot create a string/i);
});

test('MCP + the embedded sample database: repeat() past its memory is a clear error, the server stays small', async () => {
  // its own cache of the built sample: the first start builds it (initdb), the second loads it, as users see it
  const cache = tmpDir('sample-cache');
  const first = await session({ XDG_CACHE_HOME: cache });
  try {
    const t0 = performance.now();
    const r = await first.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 1' } }, undefined, { timeout: 120_000 }) as Reply;
    assert.notEqual(r.isError, true, textOf(r));
    console.log(`  sample, first query on a fresh cache: ${Math.round(performance.now() - t0)} ms, server peak ${peakMb(first.pid!).toFixed(0)} MB`);
  } finally { await first.close(); }
  assert.ok(fs.readdirSync(path.join(cache, 'datatools')).some(f => /^sample-[0-9a-f]{16}\.tar\.gz$/.test(f)), 'the built sample is cached');

  const s = await session({ XDG_CACHE_HOME: cache, DATATOOLS_MAX_RESULT_MB: '1' });
  try {
    let o = await s.call('execute_query', { query: 'SELECT 1' }, 'sample, first query from the cache');
    assert.notEqual(o.r.isError, true);
    // the result budget holds on the sample too: the rows before it, exact, and where it stopped
    o = await s.call('execute_query', { query: "SELECT g, repeat('z', 1000) AS pad FROM generate_series(1, 5000) g" }, 'sample: a result over the 1 MB budget');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 300));
    const m = /^([\d,]+) rows returned in \d+ ms; TRUNCATED: stopped at row ([\d,]+), where the result reached the 1 MB budget/.exec(o.text);
    assert.ok(m, o.text.slice(0, 300));
    assert.equal(Number(m[2].replace(/,/g, '')), Number(m[1].replace(/,/g, '')) + 1);
    assert.ok(Number(m[1].replace(/,/g, '')) > 900 && Number(m[1].replace(/,/g, '')) < 1100, m[1]);
    o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS big" }, "sample: repeat('x', 300000000)");
    assert.equal(o.r.isError, true);
    assert.match(o.text, /^Refused: the sample database ran out of memory \(PostgreSQL: out of memory\); the query was stopped\. The embedded sample database is small: its memory is capped at 256 MB/);
    o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS a, repeat('y', 300000000) AS b" }, 'sample: two 300 MB values');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /sample database ran out of memory/);
    const end = peakMb(s.pid!);
    console.log(`  server peak with the sample after its faults: ${end.toFixed(0)} MB (bound ${SAMPLE_PEAK_BOUND_MB} MB)`);
    assert.ok(end < SAMPLE_PEAK_BOUND_MB, `server peak ${end.toFixed(0)} MB is over ${SAMPLE_PEAK_BOUND_MB} MB`);
  } finally {
    await s.close();
  }
  assert.doesNotMatch(s.stderr(), /uncaught|unhandled/i);
});
