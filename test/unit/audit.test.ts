import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { Redactor } from '../../src/core/audit';
import { psql, startPostgres } from '../helpers/pg';

const PASSWORD = 'S3cr3t-Pa55word!';

test('audit: one well-formed line per call over MCP, and the DATABASE_URL password never reaches the log', async () => {
  const dir = tmpDir('audit');
  const log = path.join(dir, 'audit.jsonl');
  const url = `postgresql://analyst:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/nowhere`;
  const { client, close } = await connectMcp({ DATATOOLS_ROLE: 'data_engineer', DATATOOLS_AUDIT_LOG: log, DATATOOLS_ALLOWED_PATHS: dir, DATABASE_URL: url });
  try {
    const calls: [string, Record<string, unknown>][] = [
      ['execute_query', { query: `select '${PASSWORD}' as leaked` }],
      ['list_tables', {}],
      ['write_file', { file_path: path.join(dir, 'conn.txt'), content: `postgres://bob:hunter22@db/x ${PASSWORD}` }],
      ['execute_code', { code: 'print(1)', password: PASSWORD }],
      ['get_environment', {}],
    ];
    for (const [name, args] of calls) await client.callTool({ name, arguments: args });
  } finally { await close(); }
  const raw = fs.readFileSync(log, 'utf8');
  assert.ok(!raw.includes(PASSWORD), 'the password must not appear in the audit log');
  assert.ok(!raw.includes(encodeURIComponent(PASSWORD)), 'nor its URL-encoded form');
  assert.ok(!raw.includes('hunter22'), 'a password inside a URL in the input is redacted');
  const lines = raw.trim().split('\n');
  assert.equal(lines.length, 5);
  const entries = lines.map(l => JSON.parse(l));
  for (const [i, e] of entries.entries()) {
    assert.equal(typeof e.time, 'string');
    assert.ok(!Number.isNaN(Date.parse(e.time)));
    assert.equal(e.role, 'data_engineer');
    assert.equal(e.caller, 'mcp');
    assert.equal(typeof e.durationMs, 'number');
    assert.match(e.id, /^[0-9a-f-]{36}$/);
    assert.ok(['ok', 'error', 'refused', 'invalid', 'cancelled'].includes(e.outcome), `line ${i}: ${e.outcome}`);
  }
  assert.deepEqual(entries.map(e => e.tool), ['execute_query', 'list_tables', 'write_file', 'execute_code', 'get_environment']);
  assert.equal(entries[3].outcome, 'invalid', 'an unknown field is refused');
  assert.equal(entries[3].input.password, '***', 'a secret-named field is masked even in a refused call');
});

test('redactor: known secrets, URL passwords and secret-named fields', () => {
  const r = new Redactor(['abcd1234secret']);
  assert.equal(r.text('key abcd1234secret here'), 'key *** here');
  assert.equal(r.text('postgresql://u:p%40ss@h:5432/d'), 'postgresql://u:***@h:5432/d');
  assert.deepEqual(r.value({ apiKey: 'x', nested: { db_password: 'y', ok: 'z' } }), { apiKey: '***', nested: { db_password: '***', ok: 'z' } });
});

test('redactor: case-insensitive, and it leaves binary and 64-bit values alone', () => {
  const r = new Redactor(['Sup3r-Secret.Pw']);
  assert.equal(r.text('role "sup3r-secret.pw" does not exist; SUP3R-SECRET.PW'), 'role "***" does not exist; ***');
  assert.equal(r.text('Sup3r-SecretXPw'), 'Sup3r-SecretXPw', 'a secret is matched literally, not as a pattern');
  const bytes = new Uint8Array([1, 2, 3]);
  const v = r.value([{ kind: 'table', rows: [['sup3r-secret.pw', bytes, 12345678901234567890n]] }]) as { rows: unknown[][] }[];
  assert.deepEqual(v[0].rows[0], ['***', bytes, 12345678901234567890n]);
  assert.ok(v[0].rows[0][1] instanceof Uint8Array);
});

test('redaction covers every part of a reply over MCP: the structured result as well as the text', async () => {
  const dir = tmpDir('audit-parts');
  const url = `postgresql://analyst:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/nowhere`;
  fs.writeFileSync(path.join(dir, 'leak.csv'), `a,b\n${PASSWORD},${PASSWORD.toLowerCase()}\n`);
  const { client, close } = await connectMcp({ DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir, DATABASE_URL: url });
  try {
    const r = await client.callTool({ name: 'read_csv', arguments: { file_path: path.join(dir, 'leak.csv') } });
    assert.ok(!r.isError, JSON.stringify(r.content));
    const whole = JSON.stringify(r).toLowerCase();
    assert.ok(!whole.includes(PASSWORD.toLowerCase()), `the password (in any case) must not be in the reply: ${whole.slice(0, 600)}`);
    assert.ok(JSON.stringify(r.structuredContent ?? r.content).includes('***'));
  } finally { await close(); }
});

test('redactor: rows with nothing to redact are passed as they are (not copied); a secret in any row, even late, is still redacted', () => {
  const r = new Redactor(['Sup3r-Secret.Pw']);
  const rows = Array.from({ length: 20_000 }, (_, i) => [i, `row ${i}`, i % 2 ? null : 1.5]);
  const clean = r.value(rows);
  assert.equal(clean, rows, 'the same array: nothing was copied');
  rows[19_999][1] = 'x SUP3R-SECRET.PW y';
  rows[7] = [7, 'see postgresql://u:pw@h/db', null];
  const out = r.value(rows) as unknown[][];
  assert.notEqual(out, rows);
  assert.equal(out.length, 20_000);
  assert.deepEqual(out[19_999], [19_999, 'x *** y', null]);
  assert.deepEqual(out[7], [7, 'see postgresql://u:***@h/db', null]);
  assert.deepEqual(out[8], [8, 'row 8', 1.5]);
  assert.equal(rows[19_999][1], 'x SUP3R-SECRET.PW y', 'the input is not changed');
});

test("redaction over MCP with a real PostgreSQL: its lower-cased (and upper-cased) echo of the password in an error reaches neither the reply nor the audit log", async () => {
  // the case issue 15 reported: an unquoted identifier is folded to lower case in PostgreSQL's error text
  const pw = 'Sup3rSecretPw';
  const pg = await startPostgres();
  const dir = tmpDir('audit-pg');
  const log = path.join(dir, 'audit.jsonl');
  try {
    psql(pg.adminUrl, `CREATE ROLE analyst LOGIN PASSWORD '${pw}'`);
    const url = `postgresql://analyst:${pw}@127.0.0.1:${pg.port}/postgres`;
    const { client, close } = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_AUDIT_LOG: log, DATATOOLS_ALLOWED_PATHS: dir, DATABASE_URL: url });
    const cases: [string, RegExp][] = [
      [`SELECT ${pw}`, /column "\*\*\*" does not exist/],
      [`SELECT * FROM ${pw}`, /relation "\*\*\*" does not exist/],
      [`SELECT "${pw.toUpperCase()}"`, /column "\*\*\*" does not exist/],
    ];
    try {
      // the server is really connected as that role (so the errors below come from PostgreSQL, not from a failed connection)
      const who = await client.callTool({ name: 'execute_query', arguments: { query: 'SELECT current_user AS u' } });
      assert.notEqual(who.isError, true, JSON.stringify(who.content));
      assert.deepEqual((who.structuredContent as { tables: { rows: unknown[][] }[] }).tables[0].rows, [['analyst']]);
      for (const [query, says] of cases) {
        const r = await client.callTool({ name: 'execute_query', arguments: { query } });
        assert.equal(r.isError, true, `${query}: an error`);
        const text = (r.content as { type: string; text?: string }[]).filter(c => c.type === 'text').map(c => c.text).join('\n');
        // the error still says what is wrong, with the secret masked where PostgreSQL echoed it
        assert.match(text, says, `${query}: ${text.slice(0, 400)}`);
        const whole = JSON.stringify(r).toLowerCase();
        assert.ok(!whole.includes(pw.toLowerCase()), `${query}: the password (in any case) must not be in the reply: ${whole.slice(0, 600)}`);
      }
    } finally { await close(); }
    const raw = fs.readFileSync(log, 'utf8');
    assert.ok(!raw.toLowerCase().includes(pw.toLowerCase()), `the password (in any case) must not be in the audit log: ${raw.slice(0, 1000)}`);
    const entries = raw.trim().split('\n').map(l => JSON.parse(l) as { tool: string; outcome: string; error?: string; input: { query: string } });
    assert.equal(entries.length, 1 + cases.length);
    for (const [i, [, says]] of cases.entries()) {
      const e = entries[i + 1];
      assert.equal(e.outcome, 'error');
      assert.match(e.error ?? '', says, 'the audit line keeps the error, masked');
      assert.match(e.input.query, /\*\*\*/, 'the query as sent is masked too');
    }
  } finally { pg.stop(); }
});
