import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { resolveConfig, configFromEnv, DEFAULT_LIMITS } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';

function host(role: 'data_scientist' | 'data_engineer' | 'ml_engineer', trusted = true) {
  const dir = tmpDir('roles');
  return new ToolHost(resolveConfig({ role, allowedPaths: [dir], auditLogPath: path.join(dir, 'a.jsonl') }), { trusted });
}

test('default role is data_scientist, with the seed limits', () => {
  const c = configFromEnv({});
  assert.equal(c.role, 'data_scientist');
  assert.deepEqual(c.limits, { ...DEFAULT_LIMITS });
  assert.equal(c.limits.codeTimeoutSec, 60);
  assert.equal(c.limits.memoryMb, 2048);
  assert.equal(c.limits.queryTimeoutSec, 30);
  assert.equal(c.limits.maxRows, 10000);
  assert.equal(c.limits.maxFileBytes, 100 * 1024 * 1024);
  assert.deepEqual(c.allowedPaths, ['/tmp/agent-data']);
  assert.equal(c.executor, 'local');
});

test('environment configuration: executor follows E2B_API_KEY, paths split on the delimiter, bad numbers are refused', () => {
  assert.equal(configFromEnv({ E2B_API_KEY: 'e2b_x' }).executor, 'e2b');
  assert.equal(configFromEnv({ E2B_API_KEY: 'e2b_x', DATATOOLS_EXECUTOR: 'local' }).executor, 'local');
  assert.deepEqual(configFromEnv({ DATATOOLS_ALLOWED_PATHS: `/a${path.delimiter}/b` }).allowedPaths, ['/a', '/b']);
  assert.throws(() => configFromEnv({ DATATOOLS_MAX_ROWS: 'lots' }), /DATATOOLS_MAX_ROWS/);
  assert.throws(() => configFromEnv({ DATATOOLS_EXECUTOR: 'docker' }), /DATATOOLS_EXECUTOR/);
  // every limit accepts its own default, given back unchanged (1 << 40 is 256 in JavaScript: it once capped files at
  // 256 bytes), and each is named in the unit it takes
  const d = configFromEnv({}).limits;
  const names: Record<keyof typeof d, string> = {
    codeTimeoutSec: 'DATATOOLS_CODE_TIMEOUT_SECONDS', memoryMb: 'DATATOOLS_MEMORY_MB', queryTimeoutSec: 'DATATOOLS_QUERY_TIMEOUT_SECONDS',
    maxRows: 'DATATOOLS_MAX_ROWS', maxFileBytes: 'DATATOOLS_MAX_FILE_BYTES', replyTextChars: 'DATATOOLS_REPLY_TEXT_CHARS',
    replyStructuredBytes: 'DATATOOLS_REPLY_STRUCTURED_BYTES', maxRequestBytes: 'DATATOOLS_MAX_REQUEST_BYTES',
    resultMemoryMb: 'DATATOOLS_RESULT_MEMORY_MB', resultDiskMb: 'DATATOOLS_RESULT_DISK_MB', resultIdleSeconds: 'DATATOOLS_RESULT_IDLE_SECONDS',
    mcpInlineRows: 'DATATOOLS_MCP_INLINE_ROWS', maxRowMb: 'DATATOOLS_MAX_ROW_MB', maxResultMb: 'DATATOOLS_MAX_RESULT_MB',
    sandboxWriteMb: 'DATATOOLS_SANDBOX_WRITE_MB',
  };
  assert.deepEqual(Object.keys(names).sort(), Object.keys(d).sort(), 'every limit has its variable here');
  for (const [key, env] of Object.entries(names) as [keyof typeof d, string][]) {
    assert.match(env, /_(SECONDS|MB|BYTES|CHARS|ROWS)$/, `${env} says its unit`);
    assert.equal(configFromEnv({ [env]: String(d[key]) }).limits[key], d[key], env);
    // and it is read: another value within its range is taken
    assert.equal(configFromEnv({ [env]: String(d[key] + 1) }).limits[key], d[key] + 1, env);
  }
  // the timeouts' former names (no unit) are still read; the named unit wins when both are set
  assert.equal(configFromEnv({ DATATOOLS_QUERY_TIMEOUT: '12' }).limits.queryTimeoutSec, 12);
  assert.equal(configFromEnv({ DATATOOLS_CODE_TIMEOUT: '13' }).limits.codeTimeoutSec, 13);
  assert.equal(configFromEnv({ DATATOOLS_QUERY_TIMEOUT: '12', DATATOOLS_QUERY_TIMEOUT_SECONDS: '14' }).limits.queryTimeoutSec, 14);
  assert.throws(() => configFromEnv({ DATATOOLS_CODE_TIMEOUT: '0' }), /DATATOOLS_CODE_TIMEOUT=/);
  assert.equal(configFromEnv({ DATATOOLS_MAX_FILE_BYTES: String(2 ** 31) }).limits.maxFileBytes, 2 ** 31);
});

test('an untrusted workspace withholds code execution and writes, whatever the role', async () => {
  const h = host('ml_engineer', false);
  const names = h.available().map(t => t.name);
  for (const n of ['execute_code', 'install_package', 'write_file', 'run_script']) assert.ok(!names.includes(n), n);
  for (const n of ['execute_query', 'read_csv', 'get_environment']) assert.ok(names.includes(n), n);
  const r = await h.call('execute_code', { code: 'print(1)' }, { caller: 'test' });
  assert.equal(r.outcome, 'refused');
  assert.match(r.text, /not trusted/);
});

test('a role change takes effect at once', async () => {
  const h = host('data_scientist');
  assert.equal((await h.call('write_file', { file_path: 'x', content: 'y' }, { caller: 'test' })).outcome, 'refused');
  await h.reconfigure({ ...h.config, role: 'data_engineer' });
  assert.notEqual((await h.call('write_file', { file_path: 'x', content: 'y' }, { caller: 'test' })).outcome, 'refused');
});

test('a handler that throws unexpectedly becomes a tool error without a stack trace', async () => {
  const { z } = await import('zod');
  const dir = tmpDir('boom');
  const h = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'a.jsonl') }), {
    tools: [{ name: 'boom', title: 'Boom', description: 'd', input: z.strictObject({}), capability: 'files.read', readOnly: true, summary: () => 'boom',
      handler: async () => { throw new TypeError('x is undefined'); } }],
  });
  const r = await h.call('boom', {}, { caller: 'test' });
  assert.equal(r.isError, true);
  assert.match(r.text, /boom failed unexpectedly: x is undefined/);
  assert.doesNotMatch(r.text, /at .*\.js:\d+/);
});

test('the person\'s own commands are not refused by the role (still trust-gated, audited as command); agents are', async () => {
  const dir = tmpDir('roles-person');
  const audit = path.join(dir, 'a.jsonl');
  const script = path.join(dir, 'hello.py');
  (await import('node:fs')).writeFileSync(script, 'print(1)\n');
  const h = new ToolHost(resolveConfig({ role: 'data_scientist', allowedPaths: [dir], auditLogPath: audit }), { trusted: true });
  // agents: the data scientist's role has no run_script and no write_file
  for (const caller of ['copilot', 'chat', 'mcp', 'test'] as const) {
    const r = await h.call('run_script', { script_path: script }, { caller });
    assert.equal(r.outcome, 'refused', caller);
    assert.match(r.text, /not allowed for the role Data scientist/);
    assert.equal((await h.call('write_file', { file_path: 'w.txt', content: 'x' }, { caller })).outcome, 'refused', caller);
  }
  // the person: the same calls are not refused by the role
  assert.equal(h.refusal('run_script', 'command'), undefined);
  assert.equal(h.refusal('run_script', 'explorer'), undefined);
  assert.match(h.refusal('run_script') ?? '', /not allowed for the role/, 'without a caller the role applies');
  const w = await h.call('write_file', { file_path: 'w.txt', content: 'x' }, { caller: 'command' });
  assert.notEqual(w.outcome, 'refused', w.text);
  const lines = (await import('node:fs')).readFileSync(audit, 'utf8').trim().split('\n').map(l => JSON.parse(l));
  const last = lines.at(-1);
  assert.equal(last.caller, 'command');
  assert.equal(last.role, 'data_scientist');
  assert.equal(last.tool, 'write_file');
  // an untrusted workspace still withholds code and writes from the person
  const u = new ToolHost(resolveConfig({ role: 'ml_engineer', allowedPaths: [dir], auditLogPath: audit }), { trusted: false });
  for (const t of ['run_script', 'execute_code', 'write_file']) {
    const r = await u.call(t, t === 'run_script' ? { script_path: script } : t === 'execute_code' ? { code: 'print(1)' } : { file_path: 'x', content: 'y' }, { caller: 'command' });
    assert.equal(r.outcome, 'refused', t);
    assert.match(r.text, /not trusted/);
  }
  // reads stay available to the person in an untrusted workspace
  assert.equal(u.refusal('list_files', 'command'), undefined);
});
