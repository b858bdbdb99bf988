import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MCP_JS, tmpDir } from '../helpers/mcp';
import { EventBudget, EventLog } from '../../src/mcp/events';

// Issue 26, item 1 and 2: MCP over Streamable HTTP, each session its own tool host (Python session, result store,
// audit identity), static tokens and OAuth JWTs (a test issuer with its own JWKS on loopback), Origin checks.

interface Served { url: string; proc: ChildProcess; stderr: () => string; stop: () => Promise<void> }
const started: Served[] = [];
after(async () => { await Promise.all(started.map(s => s.stop())); });

function freePort(): Promise<number> {
  return new Promise(resolve => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
}

async function serve(env: Record<string, string>, listen = '127.0.0.1:0'): Promise<Served> {
  const proc = spawn(process.execPath, [MCP_JS, '--http', listen], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', d => { err += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the server did not start: ${err}`)), 30_000);
    proc.stderr!.on('data', () => { const m = /at (http:\/\/\S+\/mcp)/.exec(err); if (m) { clearTimeout(t); resolve(m[1]); } });
    proc.on('exit', c => { clearTimeout(t); reject(new Error(`the server exited (${c}): ${err}`)); });
  });
  const s: Served = {
    url, proc, stderr: () => err,
    stop: () => new Promise(r => { if (proc.exitCode !== null) return r(); proc.once('exit', () => r()); proc.kill('SIGTERM'); }),
  };
  started.push(s);
  return s;
}

async function connect(url: string, token?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : undefined);
  const client = new Client({ name: 'datatools-http-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport };
}

const text = (r: unknown) => ((r as { content: { type: string; text?: string }[] }).content.find(c => c.type === 'text')?.text ?? '');

/** A raw POST (what a browser page or a broken client sends). */
async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | undefined }> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } });
  const t = await r.text();
  let json: Record<string, unknown> | undefined;
  try { json = JSON.parse(t); } catch { /* an SSE body */ }
  return { status: r.status, headers: r.headers, json };
}
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

describe('MCP over Streamable HTTP', { timeout: 300_000 }, () => {
  test('loopback without tokens: tool calls work; each session has its own results and Python state; DELETE ends a session', async () => {
    const dir = tmpDir('mcp-http');
    fs.writeFileSync(path.join(dir, 'ids.csv'), 'id,name\n007,a\n12345678901234567890,b\n');
    const audit = path.join(dir, 'audit.jsonl');
    const s = await serve({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: audit });
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const a = await connect(s.url);
    const b = await connect(s.url);
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    const names = (await a.client.listTools()).tools.map(t => t.name);
    assert.ok(names.includes('execute_code') && names.includes('write_file') && !names.includes('run_script'), names.join());

    const csv = await a.client.callTool({ name: 'read_csv', arguments: { file_path: path.join(dir, 'ids.csv') } });
    assert.notEqual(csv.isError, true, text(csv));
    const rows = (csv.structuredContent as { tables: { rows: unknown[][]; result_id: string }[] }).tables[0];
    assert.deepEqual(rows.rows, [['007', 'a'], ['12345678901234567890', 'b']], 'the same exact values as over stdio');
    const q = await a.client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 1::bigint AS one' } });
    assert.notEqual(q.isError, true, text(q));

    // a result id of one session is not found in another
    const mine = await a.client.callTool({ name: 'get_result', arguments: { result_id: rows.result_id } });
    assert.notEqual(mine.isError, true, text(mine));
    const theirs = await b.client.callTool({ name: 'get_result', arguments: { result_id: rows.result_id } });
    assert.equal(theirs.isError, true);
    assert.match(text(theirs), /No stored result/);
    const listed = await b.client.listResources();
    assert.equal(listed.resources.length, 0, 'the other session lists none of its results');

    // Python state is per session
    const set = await a.client.callTool({ name: 'execute_code', arguments: { code: 'secret_value = 41 + 1\nprint(secret_value)' } });
    assert.notEqual(set.isError, true, text(set));
    assert.match(text(set), /42/);
    const peek = await b.client.callTool({ name: 'execute_code', arguments: { code: 'print(secret_value)' } });
    assert.match(text(peek), /NameError/);
    const again = await a.client.callTool({ name: 'execute_code', arguments: { code: 'print(secret_value)' } });
    assert.match(text(again), /42/);

    // the audit log names the session of each call
    const lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { tool: string; session?: string });
    assert.ok(lines.some(l => l.tool === 'read_csv' && l.session === a.transport.sessionId));
    assert.ok(lines.some(l => l.tool === 'execute_code' && l.session === b.transport.sessionId));

    // DELETE ends the session: its id is then unknown (404)
    const sid = a.transport.sessionId!;
    await a.transport.terminateSession();
    const gone = await post(s.url, JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }), { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(gone.status, 404);
    assert.match(s.stderr(), new RegExp(`session ${sid} ended \\(closed by the client\\)`));
    const stillB = await b.client.listTools();
    assert.ok(stillB.tools.length > 0, 'the other session goes on');
    await a.client.close().catch(() => undefined);
    await b.client.close().catch(() => undefined);
  });

  test('a session idle past DATATOOLS_MCP_SESSION_IDLE_SECONDS is ended, its kernel with it', async () => {
    const dir = tmpDir('mcp-http-idle');
    const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_MCP_SESSION_IDLE_SECONDS: '2' });
    const c = await connect(s.url);
    const r = await c.client.callTool({ name: 'execute_code', arguments: { code: 'import os; print(os.getpid())' } });
    assert.notEqual(r.isError, true, text(r));
    await new Promise(res => setTimeout(res, 5000));
    const idle = await post(s.url, JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/list' }), { 'mcp-session-id': c.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(idle.status, 404);
    assert.match(s.stderr(), new RegExp(`session ${c.transport.sessionId} ended \\(idle for more than 2 s\\)`));
    // its sandbox is gone: no bubblewrap process of the server is left
    const kids = spawnSync('pgrep', ['-P', String(s.proc.pid)], { encoding: 'utf8' }).stdout.trim();
    assert.equal(kids, '', `the server has no children left: ${kids}`);
    await c.client.close().catch(() => undefined);
  });

  test('Origin is checked (DNS rebinding), bodies are bounded, bad JSON is -32700, sessions are capped with a 503', async () => {
    const dir = tmpDir('mcp-http-edge');
    const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_MCP_MAX_SESSIONS: '1', DATATOOLS_MAX_REQUEST_BYTES: '100000' });
    const port = new URL(s.url).port;
    const evil = await post(s.url, INIT, { origin: 'http://evil.example' });
    assert.equal(evil.status, 403);
    assert.match(String((evil.json?.error as { message: string }).message), /Origin http:\/\/evil\.example is not allowed/);
    const otherPort = await post(s.url, INIT, { origin: 'http://localhost:1' });
    assert.equal(otherPort.status, 403, 'a page on another local port is another origin');
    const own = await post(s.url, INIT, { origin: `http://localhost:${port}` });
    assert.equal(own.status, 200, 'the server\'s own origin is fine');
    const sid = own.headers.get('mcp-session-id');
    assert.ok(sid);
    // the one allowed session is taken: a new one is a clear 503
    const full = await post(s.url, INIT);
    assert.equal(full.status, 503);
    assert.match(String((full.json?.error as { message: string }).message), /DATATOOLS_MCP_MAX_SESSIONS/);
    const h = { 'mcp-session-id': sid!, 'mcp-protocol-version': '2025-06-18' };
    const bad = await post(s.url, '{"jsonrpc": "2.0", "id": 3, "method": ', h);
    assert.equal(bad.status, 400);
    assert.equal((bad.json?.error as { code: number }).code, -32700);
    const big = await post(s.url, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'read_file', arguments: { file_path: 'x'.repeat(300_000) } } }), h);
    assert.equal(big.status, 413);
    assert.match(String((big.json?.error as { message: string }).message), /DATATOOLS_MAX_REQUEST_BYTES/);
    const deep = await post(s.url, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{"file_path":${'['.repeat(5000)}${']'.repeat(5000)}}}}`, h);
    assert.equal(deep.status, 400);
    assert.match(String((deep.json?.error as { message: string }).message), /nested more than/);
    // the session still serves
    const list = await post(s.url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/list' }), h);
    assert.equal(list.status, 200);
  });

  test('without tokens or OAuth it will not listen beyond loopback, and says why', async () => {
    const r = spawnSync(process.execPath, [MCP_JS, '--http', '0.0.0.0:0'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' }, timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /will not listen on 0\.0\.0\.0 without authorization/);
    assert.match(r.stderr, /DATATOOLS_MCP_TOKENS_FILE/);
  });

  test('static tokens: 401 without or with a wrong one; the token\'s role is the session\'s and no other token takes the session over; audit names the subject, never the token', async () => {
    const dir = tmpDir('mcp-http-tokens');
    const mk = (role: string, name: string) => {
      const out = spawnSync(process.execPath, [MCP_JS, 'token', role, name], { encoding: 'utf8' }).stdout;
      return { token: /: (dtk_\S+)/.exec(out)![1], line: out.trim().split('\n').pop()! };
    };
    const alice = mk('data_scientist', 'alice');
    const bob = mk('data_engineer', 'bob');
    assert.doesNotMatch(alice.line, /dtk_/, 'the file line holds a hash, not the token');
    const tokens = path.join(dir, 'tokens');
    fs.writeFileSync(tokens, `# team tokens\n${alice.line}\n${bob.line}\n`);
    const audit = path.join(dir, 'audit.jsonl');
    // listening on every interface is allowed with tokens
    const s = await serve({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: audit, DATATOOLS_MCP_TOKENS_FILE: tokens }, '0.0.0.0:0');
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    const none = await post(url, INIT);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await post(url, INIT, { authorization: 'Bearer dtk_not-a-token' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);
    await assert.rejects(connect(url), /needs a bearer token/);

    const a = await connect(url, alice.token);
    const b = await connect(url, bob.token);
    const toolsA = (await a.client.listTools()).tools.map(t => t.name);
    const toolsB = (await b.client.listTools()).tools.map(t => t.name);
    assert.ok(!toolsA.includes('write_file') && !toolsA.includes('run_script'), 'alice is a data scientist');
    assert.ok(toolsB.includes('write_file') && toolsB.includes('run_script') && !toolsB.includes('install_package'), 'bob is a data engineer');
    const refused = await a.client.callTool({ name: 'write_file', arguments: { file_path: path.join(dir, 'x.txt'), content: 'x' } });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /not allowed for the role/);
    assert.equal(fs.existsSync(path.join(dir, 'x.txt')), false);
    // bob's token cannot use alice's session (nor raise its role)
    const takeover = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }), { authorization: `Bearer ${bob.token}`, 'mcp-session-id': a.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(takeover.status, 403);
    const ok = await b.client.callTool({ name: 'write_file', arguments: { file_path: path.join(dir, 'y.txt'), content: 'y' } });
    assert.notEqual(ok.isError, true, text(ok));
    const log = fs.readFileSync(audit, 'utf8');
    assert.ok(!log.includes(alice.token) && !log.includes(bob.token), 'no token in the audit log');
    const lines = log.trim().split('\n').map(l => JSON.parse(l) as { tool: string; role: string; subject?: string; session?: string; outcome: string });
    assert.ok(lines.some(l => l.tool === 'write_file' && l.subject === 'alice' && l.role === 'data_scientist' && l.outcome === 'refused' && l.session === a.transport.sessionId));
    assert.ok(lines.some(l => l.tool === 'write_file' && l.subject === 'bob' && l.role === 'data_engineer' && l.outcome === 'ok'));
    await a.client.close(); await b.client.close();
  });

  test('OAuth: JWTs checked against a test issuer\'s JWKS (signature, audience, expiry), the role from the scope; RFC 9728 metadata and the 401 challenge', async () => {
    const jose = await import('jose');
    const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
    const other = await jose.generateKeyPair('RS256');
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const issuerServer = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(issuerServer.address() as net.AddressInfo).port}`;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks`, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token` }));
      else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
      else { res.statusCode = 404; res.end('{}'); }
    });
    await new Promise<void>(r => issuerServer.listen(0, '127.0.0.1', () => r()));
    const issuer = `http://127.0.0.1:${(issuerServer.address() as net.AddressInfo).port}`;
    try {
      const port = await freePort();
      const resource = `http://127.0.0.1:${port}/mcp`;
      const dir = tmpDir('mcp-http-oauth');
      const audit = path.join(dir, 'audit.jsonl');
      const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: audit, DATATOOLS_OAUTH_ISSUER: issuer }, `127.0.0.1:${port}`);
      const sign = (claims: Record<string, unknown>, o: { key?: Parameters<InstanceType<typeof jose.SignJWT>["sign"]>[0]; aud?: string; exp?: string | number } = {}) =>
        new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience(o.aud ?? resource)
          .setSubject('carol@example.com').setIssuedAt().setExpirationTime(o.exp ?? '5m').sign(o.key ?? privateKey);

      const meta = await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource`)).json() as { resource: string; authorization_servers: string[] };
      assert.equal(meta.resource, resource);
      assert.deepEqual(meta.authorization_servers, [issuer]);
      const none = await post(s.url, INIT);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource"`);
      const cases: [string, string, RegExp][] = [
        ['expired', await sign({ scope: 'datatools:data_engineer' }, { exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
        ['wrong audience', await sign({ scope: 'datatools:data_engineer' }, { aud: 'http://elsewhere.example/mcp' }), /aud/],
        ['wrong key', await sign({ scope: 'datatools:data_engineer' }, { key: other.privateKey }), /signature/],
        ['not a JWT', 'abc.def.ghi', /not a valid JWT/],
      ];
      for (const [what, token, why] of cases) {
        const r = await post(s.url, INIT, { authorization: `Bearer ${token}` });
        assert.equal(r.status, 401, what);
        assert.match(String((r.json?.error as { message: string }).message), why, what);
        assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
      }
      const noRole = await post(s.url, INIT, { authorization: `Bearer ${await sign({ scope: 'openid profile' })}` });
      assert.equal(noRole.status, 403);
      const good = await connect(s.url, await sign({ scope: 'openid datatools:data_engineer' }));
      const tools = (await good.client.listTools()).tools.map(t => t.name);
      assert.ok(tools.includes('run_script') && !tools.includes('install_package'), 'the role comes from the scope');
      const r = await good.client.callTool({ name: 'list_files', arguments: { path: dir } });
      assert.notEqual(r.isError, true, text(r));
      const lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { tool: string; subject?: string; role: string });
      assert.ok(lines.some(l => l.tool === 'list_files' && l.subject === 'carol@example.com' && l.role === 'data_engineer'));
      await good.client.close();
    } finally { issuerServer.close(); }
  });
});

test('the event log replays what a dropped SSE stream missed, per stream, and stays bounded', async () => {
  const log = new EventLog(5, 1 << 20);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(await log.storeEvent('s1', { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: i } } as never));
  await log.storeEvent('s2', { jsonrpc: '2.0', method: 'other' } as never);
  const got: unknown[] = [];
  const stream = await log.replayEventsAfter(ids[1], { send: async (_id, m) => { got.push((m as unknown as { params: { progress: number } }).params.progress); } });
  assert.equal(stream, 's1');
  assert.deepEqual(got, [2, 3], 'only the later events of that stream');
  assert.equal(await log.getStreamIdForEventId(ids[0]), 's1');
  for (let i = 0; i < 10; i++) await log.storeEvent('s1', { jsonrpc: '2.0', method: 'n' } as never);
  // ids[0] was let go (at most maxEvents are kept): it is an unknown event id, as the SDK expects (it answers 400)
  assert.equal(await log.getStreamIdForEventId(ids[0]), undefined);
  const all: unknown[] = [];
  assert.equal(await log.replayEventsAfter(ids[0], { send: async () => { all.push(1); } }), '');
  assert.equal(all.length, 0, 'nothing replayed from a dropped event: the client learns it cannot resume');
});

test('the event logs of all sessions share one byte budget: the oldest events of any session go first', async () => {
  const budget = new EventBudget(10_000);
  const big = (n: number) => ({ jsonrpc: '2.0', method: 'n', params: { pad: 'x'.repeat(n) } }) as never;
  const a = new EventLog(1000, 8000, budget);
  const b = new EventLog(1000, 8000, budget);
  const first = await a.storeEvent('s', big(3000));
  const second = await a.storeEvent('s', big(3000));
  await b.storeEvent('t', big(3000));
  assert.ok(budget.bytes < 10_000);
  // b's next event is over the shared budget: a's oldest goes, not b's own
  const late = await b.storeEvent('t', big(3000));
  assert.ok(budget.bytes <= 10_000, String(budget.bytes));
  assert.equal(await a.getStreamIdForEventId(first), undefined, 'the oldest event overall was dropped');
  assert.equal(await a.getStreamIdForEventId(second), 's');
  assert.equal(await b.getStreamIdForEventId(late), 't');
  // a per-session limit below the shared one: one session cannot take it all
  const c = new EventLog(1000, 4000, budget);
  const c1 = await c.storeEvent('u', big(3000));
  await c.storeEvent('u', big(3000));
  assert.equal(await c.getStreamIdForEventId(c1), undefined);
  // an ended session gives its bytes back
  const before = budget.bytes;
  b.clear();
  assert.ok(budget.bytes < before);
});

// Review of the HTTP transport: sessions registered only once accepted, per-credential caps and binding, bodies that
// are too big or too slow, the OAuth setup's checks.
describe('MCP over Streamable HTTP: hardening', { timeout: 300_000 }, () => {
  const mk = (role: string, name: string) => {
    const out = spawnSync(process.execPath, [MCP_JS, 'token', role, name], { encoding: 'utf8' }).stdout;
    return { token: /: (dtk_\S+)/.exec(out)![1], line: out.trim().split('\n').pop()! };
  };
  const msg = (r: { json?: Record<string, unknown> }) => String((r.json?.error as { message?: string } | undefined)?.message);

  test('refused initializes take no session slot; a credential has its own cap (429) and its sessions, even against a token of the same name', async () => {
    const dir = tmpDir('mcp-http-caps');
    const a1 = mk('data_scientist', 'alice');
    const a2 = mk('data_scientist', 'alice');
    const tokens = path.join(dir, 'tokens');
    fs.writeFileSync(tokens, `${a1.line}\n${a2.line}\n`);
    const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_MCP_TOKENS_FILE: tokens, DATATOOLS_MCP_MAX_SESSIONS: '2', DATATOOLS_MCP_MAX_SESSIONS_PER_SUBJECT: '1' });
    const auth1 = { authorization: `Bearer ${a1.token}` };
    for (let i = 0; i < 5; i++) {
      const bad = await post(s.url, INIT, { ...auth1, accept: 'application/json' });
      assert.equal(bad.status, 406, 'the SDK refuses an initialize that does not accept SSE');
    }
    const good = await post(s.url, INIT, auth1);
    assert.equal(good.status, 200, `a refused initialize holds no slot: ${msg(good)}`);
    const sid = good.headers.get('mcp-session-id')!;
    const more = await post(s.url, INIT, auth1);
    assert.equal(more.status, 429);
    assert.match(msg(more), /DATATOOLS_MCP_MAX_SESSIONS_PER_SUBJECT=1/);
    assert.match(msg(more), /DELETE/);
    // another token with the same name and role is another credential: it cannot use the session, it gets its own
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const other = await post(s.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { ...h, authorization: `Bearer ${a2.token}` });
    assert.equal(other.status, 403);
    assert.match(msg(other), /another credential/);
    const own = await post(s.url, INIT, { authorization: `Bearer ${a2.token}` });
    assert.equal(own.status, 200, msg(own));
    // a resource URI with a bad % escape is invalid params, not an internal error
    const r = await fetch(s.url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'datatools://results/%zz' } }), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...h, ...auth1 } });
    const data = JSON.parse((await r.text()).split('\n').filter(l => l.startsWith('data: ')).pop()!.slice(6)) as { error: { code: number; message: string } };
    assert.equal(data.error.code, -32602, data.error.message);
    assert.match(data.error.message, /% escape/);
    // a resume from an event id the server does not hold (never had, or let go) is the SDK's 400, not an empty stream
    const resume = await fetch(s.url, { headers: { accept: 'text/event-stream', 'last-event-id': 'gone-stream_7', ...h, ...auth1 }, signal: AbortSignal.timeout(10_000) });
    assert.equal(resume.status, 400);
    await resume.body?.cancel();
  });

  /** A POST whose body is written in pieces, `gapMs` apart; resolves with the status and whether the server closed. */
  function slowPost(url: string, headers: Record<string, string>, pieces: string[], gapMs: number, contentLength?: number): Promise<{ status: number; body: string; connection?: string; sent: number }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, ...(contentLength !== undefined ? { 'content-length': String(contentLength) } : {}) } });
      let sent = 0;
      let stop = false;
      req.on('response', res => {
        stop = true;
        let body = '';
        res.on('data', d => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection, sent }));
      });
      req.on('error', e => { if (!stop) reject(e); });
      const next = () => {
        if (stop) return;
        if (sent === pieces.length) { req.end(); return; }
        req.write(pieces[sent++]);
        setTimeout(next, gapMs);
      };
      next();
    });
  }

  test('a session is not reaped while its request body is still arriving; a body that trickles past DATATOOLS_MCP_BODY_TIMEOUT_SECONDS is 408', async () => {
    const dir = tmpDir('mcp-http-slow');
    const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_MCP_SESSION_IDLE_SECONDS: '1', DATATOOLS_MCP_BODY_TIMEOUT_SECONDS: '6' });
    const init = await post(s.url, INIT);
    const sid = init.headers.get('mcp-session-id')!;
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const pieces = Array.from({ length: 8 }, (_, i) => body.slice(Math.floor(i * body.length / 8), Math.floor((i + 1) * body.length / 8)));
    // a client of revision 2025-03-26 (which had batches) gets a plain -32600 for one, not a silent failure
    const old = await post(s.url, INIT.replace('2025-06-18', '2025-03-26'));
    assert.equal(old.status, 200);
    const batch = await post(s.url, JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { jsonrpc: '2.0', id: 2, method: 'prompts/list' }]), { 'mcp-session-id': old.headers.get('mcp-session-id')! });
    assert.equal(batch.status, 400);
    assert.equal((batch.json?.error as { code: number }).code, -32600);
    assert.match(msg(batch), /does not accept JSON-RPC batches/);
    const slow = await slowPost(s.url, h, pieces, 500);
    assert.equal(slow.status, 200, `the session outlived a 4 s upload with a 1 s idle limit: ${slow.body}`);
    const never = await slowPost(s.url, {}, Array.from({ length: 100 }, () => " "), 200);
    assert.equal(never.status, 408);
    assert.equal(never.connection, 'close');
    assert.match(never.body, /DATATOOLS_MCP_BODY_TIMEOUT_SECONDS/);
  });

  test('an oversized body is 413 with Connection: close, and the rest of it is not read', async () => {
    const dir = tmpDir('mcp-http-big');
    const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_MAX_REQUEST_BYTES: '100000' });
    const piece = 'x'.repeat(64 * 1024);
    // declared too big: answered before anything is read
    const declared = await slowPost(s.url, {}, Array.from({ length: 200 }, () => piece), 50, 200 * piece.length);
    assert.equal(declared.status, 413);
    assert.equal(declared.connection, 'close');
    assert.ok(declared.sent < 20, `the client was stopped early (${declared.sent} pieces of 200 sent)`);
    // chunked: answered as soon as it is over the limit
    const chunked = await slowPost(s.url, {}, Array.from({ length: 200 }, () => piece), 50);
    assert.equal(chunked.status, 413);
    assert.equal(chunked.connection, 'close');
    assert.match(chunked.body, /DATATOOLS_MAX_REQUEST_BYTES/);
    assert.ok(chunked.sent < 30, `the client was stopped early (${chunked.sent} pieces of 200 sent)`);
  });

  test('OAuth setup: https issuers only (but loopback), the metadata must name the issuer, an audience beyond loopback, config errors as sentences', async () => {
    const run = (env: Record<string, string>, listen = '127.0.0.1:0') => spawnSync(process.execPath, [MCP_JS, '--http', listen], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env }, timeout: 30_000 });
    const plain = run({ DATATOOLS_OAUTH_ISSUER: 'http://login.example.invalid/realm' });
    assert.equal(plain.status, 2, plain.stderr);
    assert.match(plain.stderr, /must be an https URL/);
    const noAud = run({ DATATOOLS_OAUTH_ISSUER: 'https://login.example.invalid/realm' }, '0.0.0.0:0');
    assert.equal(noAud.status, 2, noAud.stderr);
    assert.match(noAud.stderr, /set DATATOOLS_OAUTH_AUDIENCE/);
    const badAud = run({ DATATOOLS_OAUTH_ISSUER: 'https://login.example.invalid/realm', DATATOOLS_OAUTH_AUDIENCE: 'not a url' }, '0.0.0.0:0');
    assert.equal(badAud.status, 2, badAud.stderr);
    assert.match(badAud.stderr, /DATATOOLS_OAUTH_AUDIENCE=not a url is not an http\(s\) URL/);
    assert.doesNotMatch(badAud.stderr, /TypeError|at .*\.js:\d+/);
    const liar = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: 'https://someone-else.example', jwks_uri: 'https://someone-else.example/jwks' }));
    });
    await new Promise<void>(r => liar.listen(0, '127.0.0.1', () => r()));
    try {
      const issuer = `http://127.0.0.1:${(liar.address() as net.AddressInfo).port}`;
      const p = spawn(process.execPath, [MCP_JS, '--http', '127.0.0.1:0'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DATATOOLS_OAUTH_ISSUER: issuer }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', d => { err += d; });
      const code = await new Promise<number | null>(r => p.on('exit', c => r(c)));
      assert.equal(code, 2, err);
      assert.match(err, /names the issuer "https:\/\/someone-else\.example"/);
    } finally { liar.close(); }
  });

  test('OAuth tokens: no sub, no exp and a symmetric algorithm are refused', async () => {
    const jose = await import('jose');
    const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
    const secret = new Uint8Array(32).fill(7);
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const oct = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'h1', alg: 'HS256', use: 'sig' };
    const issuerServer = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(issuerServer.address() as net.AddressInfo).port}`;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
      else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk, oct] }));
      else { res.statusCode = 404; res.end('{}'); }
    });
    await new Promise<void>(r => issuerServer.listen(0, '127.0.0.1', () => r()));
    const issuer = `http://127.0.0.1:${(issuerServer.address() as net.AddressInfo).port}`;
    try {
      const port = await freePort();
      const resource = `http://127.0.0.1:${port}/mcp`;
      const dir = tmpDir('mcp-http-oauth2');
      const s = await serve({ DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'a.jsonl'), DATATOOLS_OAUTH_ISSUER: issuer }, `127.0.0.1:${port}`);
      const base = () => new jose.SignJWT({ scope: 'datatools:data_engineer' }).setIssuer(issuer).setAudience(resource).setIssuedAt();
      const cases: [string, string, RegExp][] = [
        ['no sub', await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').sign(privateKey), /"sub"/],
        ['no exp', await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('dave').sign(privateKey), /"exp"/],
        ['HS256', await base().setProtectedHeader({ alg: 'HS256', kid: 'h1' }).setSubject('dave').setExpirationTime('5m').sign(secret), /algorithm/],
      ];
      for (const [what, token, why] of cases) {
        const r = await post(s.url, INIT, { authorization: `Bearer ${token}` });
        assert.equal(r.status, 401, what);
        assert.match(msg(r), why, what);
      }
      const ok = await post(s.url, INIT, { authorization: `Bearer ${await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('dave').setExpirationTime('5m').sign(privateKey)}` });
      assert.equal(ok.status, 200);
    } finally { issuerServer.close(); }
  });
});
