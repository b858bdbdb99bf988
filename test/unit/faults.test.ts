import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectMcp, peakMb, rawRequest, tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

// Issue 15, bounded memory: values and results too large for the server are stopped at the source (on the wire,
// before the driver builds strings), limits the agent passes are ceilings, and the server's PEAK memory stays
// bounded across all of it. Each fault: a clear tool error or a bounded reply, one audit line, the session alive.

/** The server's resident memory now (VmRSS), MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/<pid>/status');
  return Number(m[1]) / 1024;
}

/** Resets the server's peak (VmHWM) to its resident memory now, so the next peak is one call's (Linux: writing 5 to
 *  /proc/<pid>/clear_refs, allowed on our own child). */
function resetPeak(pid: number): number {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return rssMb(pid);
}

type Reply = { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };
const textOf = (r: Reply) => r.content.filter(c => c.type === 'text').map(c => c.text ?? '').join('\n');

async function session(env: Record<string, string>) {
  const dir = tmpDir('faults');
  const audit = path.join(dir, 'audit.jsonl');
  const s = await connectMcp({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_AUDIT_LOG: audit, DATATOOLS_ALLOWED_PATHS: dir, ...env });
  assert.ok(s.pid, 'the server process id');
  const lines = () => (fs.existsSync(audit) ? fs.readFileSync(audit, 'utf8').split('\n').filter(Boolean) : []);
  const call = async (name: string, args: Record<string, unknown>, what: string, opts: { ownPeak?: boolean } = {}) => {
    const before = lines().length;
    // the peak of this call alone (else the peak since the server started)
    const base = opts.ownPeak ? resetPeak(s.pid!) : undefined;
    const t0 = performance.now();
    const r = await s.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Reply;
    const ms = Math.round(performance.now() - t0);
    const text = textOf(r);
    // the size of the whole reply as the client got it (text, structured data, links)
    const bytes = Buffer.byteLength(JSON.stringify(r));
    const after = lines();
    assert.equal(after.length, before + 1, `${what}: exactly one audit line`);
    // the session is alive: a following call answers
    const ping = await s.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 41 + 1 AS answer' } }) as Reply;
    assert.notEqual(ping.isError, true, `${what}: the session must survive (${textOf(ping).slice(0, 300)})`);
    assert.match(textOf(ping), /42/);
    const peak = peakMb(s.pid!);
    console.log(`  ${what}: ${r.isError ? 'tool error' : 'reply'} in ${ms} ms, ${text.length} chars, ${bytes} bytes in all; server peak ${peak.toFixed(0)} MB`
      + `${base !== undefined ? ` (resident before the call ${base.toFixed(0)} MB, so ${(peak - base).toFixed(0)} MB for the call)` : ''}`);
    return { r, text, ms, bytes, entry: JSON.parse(after[after.length - 1]) as Record<string, unknown>, peak, base: base ?? 0 };
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
    assert.ok(o.bytes < 64 * 1024, `the reply is ${o.bytes} bytes in all`);

    // two such values in one row: 600 MB, more than a JavaScript string can hold; the same clear refusal
    o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS a, repeat('y', 300000000) AS b" }, 'two 300 MB values in one row');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /row 1 of the result is 572\.2 MB, over the 64 MB limit on one row/);
    assert.ok(o.ms < 15_000, `answered in ${o.ms} ms`);
    assert.ok(o.bytes < 64 * 1024, `the reply is ${o.bytes} bytes in all`);

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
    assert.match(o.text, /\[output cut at 1 MB \(stdout and stderr together\): [\d.]+ MB more not shown \([\d,]+ bytes\); print less, or write big output to a file\]/);
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
    assert.ok(o.bytes < 64 * 1024, `the reply is ${o.bytes} bytes in all`);
    o = await s.call('execute_query', { query: "SELECT repeat('x', 300000000) AS a, repeat('y', 300000000) AS b" }, 'sample: two 300 MB values');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /sample database ran out of memory/);
    assert.ok(o.bytes < 64 * 1024, `the reply is ${o.bytes} bytes in all`);
    const end = peakMb(s.pid!);
    console.log(`  server peak with the sample after its faults: ${end.toFixed(0)} MB (bound ${SAMPLE_PEAK_BOUND_MB} MB)`);
    assert.ok(end < SAMPLE_PEAK_BOUND_MB, `server peak ${end.toFixed(0)} MB is over ${SAMPLE_PEAK_BOUND_MB} MB`);
  } finally {
    await s.close();
  }
  assert.doesNotMatch(s.stderr(), /uncaught|unhandled/i);
});

/** Peak memory the server may add for one refused request, MB. The request limit is 32 MiB; a bigger line is dropped
 *  as it streams in, and a line nested deeper than 72 levels is refused by a scan of its brackets, before parsing.
 *  Measured: 150 MB write_file 31–34 MB (125 MB before the line was let go unjoined), a 10 MB code 40 MB (it is read
 *  and parsed: the line, its text and the value), 2,500 levels 1 MB, a million levels sent raw 1 MB (124 MB when it
 *  was parsed). Holding the 150 MB, or parsing the million levels, fails it. */
const REFUSED_REQUEST_PEAK_MB = 64;
/** Peak for the largest request the server reads (just under the 32 MiB limit, written as a file), MB: measured 52 to
 *  123 MB (the line's chunks, joined, its text, the parsed value and the file's bytes: up to five copies of 32 MiB,
 *  freed as the GC gets to them, so the figure varies with its timing). This is what the request limit bounds; six
 *  copies or more fails it. */
const LARGEST_REQUEST_PEAK_MB = 192;

test('MCP: oversized and malformed requests (10 MB code, 150 MB write_file, arguments nested 2,500 and 1,000,000 levels): a clear tool error, one audit line, the session alive, the server\'s peak memory bounded', async () => {
  const s = await session({ DATABASE_URL: pg.url });
  const auditLines = () => fs.readFileSync(path.join(s.dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean);
  const peaks: Record<string, number> = {};
  try {
    console.log(`  server peak at start: ${peakMb(s.pid!).toFixed(0)} MB`);
    // a 10 MB code argument: read (it is under the request limit), refused by the tool's own limit
    let o = await s.call('execute_code', { code: `x = 1\n${'#'.repeat(10_000_000)}` }, '10 MB code', { ownPeak: true });
    assert.equal(o.r.isError, true);
    assert.match(o.text, /^Invalid input for execute_code: `code`: Too big: expected string to have <=1000000 characters\./);
    assert.equal(o.entry.outcome, 'invalid');
    assert.ok(JSON.stringify(o.entry).length < 6000, 'the audit line holds the start of the code, not all of it');
    peaks['10 MB code'] = o.peak - o.base;

    // a 150 MB write_file (over the 100 MB file cap and the 32 MiB request limit): dropped as it streams in, unread
    o = await s.call('write_file', { file_path: path.join(s.dir, 'huge.txt'), content: 'w'.repeat(150_000_000) }, '150 MB write_file', { ownPeak: true });
    assert.equal(o.r.isError, true);
    assert.match(o.text, /^The request to `write_file` is [\d,]+\+ bytes, over the 33,619,968-byte limit on one request \(DATATOOLS_MAX_REQUEST_BYTES, counted as sent, in JSON\); it was not read\./);
    assert.equal(o.entry.outcome, 'refused');
    assert.equal(o.entry.tool, 'write_file');
    assert.ok(!fs.existsSync(path.join(s.dir, 'huge.txt')));
    peaks['150 MB write_file'] = o.peak - o.base;

    // arguments 2,500 levels deep (as deep as the client SDK can send): parsed, refused by their shape
    let deep: unknown = 1;
    for (let i = 0; i < 2500; i++) deep = [deep];
    o = await s.call('execute_query', { query: deep }, 'arguments 2,500 levels deep', { ownPeak: true });
    assert.equal(o.r.isError, true);
    assert.match(o.text, /^The arguments of `execute_query` are nested more than 64 levels deep; the request was refused/);
    assert.equal(o.entry.outcome, 'refused');
    assert.ok(JSON.stringify(o.entry).length < 2000, 'the audit line holds the shape of the request, not its content');
    peaks['2,500 levels'] = o.peak - o.base;

    // a million levels (2 MB of brackets; the client SDK's JSON.stringify overflows its stack, so the line is sent raw):
    // refused before parsing, by a scan of its brackets
    const before = auditLines().length;
    const base = resetPeak(s.pid!);
    const line = `{"jsonrpc":"2.0","id":990001,"method":"tools/call","params":{"name":"execute_query","arguments":{"query":${'['.repeat(1_000_000)}1${']'.repeat(1_000_000)}}}}`;
    const m = await rawRequest(s.transport, line, 990001) as { result?: Reply };
    peaks['1,000,000 levels'] = peakMb(s.pid!) - base;
    assert.ok(m.result, JSON.stringify(m).slice(0, 300));
    assert.equal(m.result.isError, true);
    assert.match(textOf(m.result), /^The arguments of `execute_query` are nested more than 64 levels deep; the request was refused unread\./);
    const after = auditLines();
    assert.equal(after.length, before + 1, 'one audit line');
    const entry = JSON.parse(after[after.length - 1]) as { tool: string; outcome: string; input: Record<string, unknown> };
    assert.deepEqual([entry.tool, entry.outcome, entry.input.nestedDeeperThan], ['execute_query', 'refused', 64]);
    const ping = await s.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 41 + 1 AS answer' } }) as Reply;
    assert.match(textOf(ping), /42/, 'the session is alive');
    console.log(`  arguments 1,000,000 levels deep (raw): ${peaks['1,000,000 levels'].toFixed(0)} MB for the call`);

    for (const [what, mb] of Object.entries(peaks)) assert.ok(mb < REFUSED_REQUEST_PEAK_MB, `${what}: the server's peak grew ${mb.toFixed(0)} MB, over ${REFUSED_REQUEST_PEAK_MB} MB`);

    // the largest request the server reads (just under the 32 MiB limit), as a file write: bounded by that limit
    o = await s.call('write_file', { file_path: path.join(s.dir, 'big.txt'), content: 'w'.repeat(32 * 1024 * 1024 - 1000) }, 'a 32 MB write_file (under the limit)', { ownPeak: true });
    assert.notEqual(o.r.isError, true, o.text.slice(0, 300));
    assert.equal(fs.statSync(path.join(s.dir, 'big.txt')).size, 32 * 1024 * 1024 - 1000);
    assert.ok(o.peak - o.base < LARGEST_REQUEST_PEAK_MB, `the largest accepted request: the server's peak grew ${(o.peak - o.base).toFixed(0)} MB, over ${LARGEST_REQUEST_PEAK_MB} MB`);
  } finally {
    await s.close();
  }
  assert.doesNotMatch(s.stderr(), /uncaught|unhandled/i);
});
