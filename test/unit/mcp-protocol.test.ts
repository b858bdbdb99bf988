import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import { MCP_JS, connectMcp, tmpDir } from '../helpers/mcp';

// Issue 26, item 3: the protocol's error answers, pagination, completion and annotations, over raw stdin/stdout and
// over Streamable HTTP (the same server code behind both).

type Msg = Record<string, unknown> & { id?: unknown; error?: { code: number; message: string }; result?: Record<string, unknown> };

interface Wire { send: (line: string, id: number | string | null) => Promise<Msg>; close: () => Promise<void> }

const dir = tmpDir('mcp-protocol');
fs.writeFileSync(path.join(dir, 'a.csv'), 'x\n1\n');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ROLE: 'data_engineer' };
const procs: ChildProcess[] = [];
after(() => { for (const p of procs) p.kill('SIGKILL'); });

const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };

async function stdioWire(): Promise<Wire> {
  const p = spawn(process.execPath, [MCP_JS], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  const waiting = new Map<string, (m: Msg) => void>();
  readline.createInterface({ input: p.stdout! }).on('line', l => {
    const m = JSON.parse(l) as Msg;
    if ('method' in m) return; // a notification (the session's log line)
    const k = JSON.stringify(m.id ?? null);
    waiting.get(k)?.(m);
    waiting.delete(k);
  });
  const send = (line: string, id: number | string | null) => new Promise<Msg>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${line.slice(0, 100)} (the client would hang)`)), 10_000);
    waiting.set(JSON.stringify(id), m => { clearTimeout(t); resolve(m); });
    p.stdin!.write(`${line}\n`);
  });
  await send(JSON.stringify(INIT), 0);
  p.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return { send, close: async () => { p.kill(); } };
}

async function httpWire(): Promise<Wire> {
  const p = spawn(process.execPath, [MCP_JS, '--http', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    p.stderr!.on('data', d => { err += d; const m = /at (http:\S+\/mcp)/.exec(err); if (m) resolve(m[1]); });
    p.on('exit', () => reject(new Error(err)));
  });
  let sid = '';
  const send = async (line: string) => {
    const r = await fetch(url, { method: 'POST', body: line, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } : {}) } });
    sid ||= r.headers.get('mcp-session-id') ?? '';
    const t = await r.text();
    // an SSE body: the data line of the answer
    const data = t.startsWith('{') ? t : t.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6)).pop() ?? '';
    return JSON.parse(data) as Msg;
  };
  await send(JSON.stringify(INIT));
  await fetch(url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } });
  return { send, close: async () => { p.kill(); } };
}

for (const [kind, open] of [['stdio', stdioWire], ['HTTP', httpWire]] as const) {
  describe(`MCP protocol answers over ${kind}`, { timeout: 120_000 }, () => {
    let w: Wire;
    test('start', async () => { w = await open(); });

    test('a line that is not JSON is -32700; a batch, jsonrpc "1.0" and params that are not an object are -32600 with their id', async () => {
      const parse = await w.send('{"jsonrpc": "2.0", "id": 4, "method": ', null);
      assert.equal(parse.error?.code, -32700);
      assert.equal(parse.id, null);
      const v1 = await w.send(JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'tools/list' }), 5);
      assert.equal(v1.error?.code, -32600);
      assert.match(v1.error!.message, /"jsonrpc" must be "2.0"/);
      const px = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 'six', method: 'tools/list', params: 'x' }), 'six');
      assert.equal(px.error?.code, -32600);
      assert.match(px.error!.message, /"params" must be an object/);
      const batch = await w.send(JSON.stringify([{ jsonrpc: '2.0', id: 7, method: 'tools/list' }]), null);
      assert.equal(batch.error?.code, -32600);
      assert.match(batch.error!.message, /does not accept JSON-RPC batches.*whatever protocol version.*request of its own/);
    });

    test('an unknown tool and a tools/call without a name are -32602 with one plain message', async () => {
      const unknown = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'drop_database', arguments: {} } }), 8);
      assert.equal(unknown.error?.code, -32602);
      assert.match(unknown.error!.message, /^Unknown tool `drop_database`\. Available tools: /);
      const noName = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { arguments: {} } }), 9);
      assert.equal(noName.error?.code, -32602);
      assert.match(noName.error!.message, /^Invalid params: "name" must be the tool's name/);
      assert.doesNotMatch(noName.error!.message, /invalid_type|\[\s*\{/, 'no validation dump');
      const notObj = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'read_csv', arguments: [1] } }), 10);
      assert.equal(notObj.error?.code, -32602);
      assert.doesNotMatch(notObj.error!.message, /MCP error/);
    });

    test('resources/list pages with a cursor (no silent cap at 100); a bogus cursor is -32602; completion offers result ids', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 105; i++) {
        const r = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 100 + i, method: 'tools/call', params: { name: 'read_csv', arguments: { file_path: path.join(dir, 'a.csv') } } }), 100 + i);
        const sc = r.result?.structuredContent as { tables: { result_id: string }[] };
        ids.push(sc.tables[0].result_id);
      }
      const p1 = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 300, method: 'resources/list' }), 300);
      const r1 = p1.result!.resources as { name: string }[];
      assert.equal(r1.length, 100);
      assert.ok(typeof p1.result!.nextCursor === 'string');
      const p2 = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 301, method: 'resources/list', params: { cursor: p1.result!.nextCursor } }), 301);
      const r2 = p2.result!.resources as { name: string }[];
      assert.equal(r2.length, 5);
      assert.equal(p2.result!.nextCursor, undefined);
      assert.deepEqual(new Set([...r1, ...r2].map(r => r.name)), new Set(ids), 'every result, once');
      const bogus = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 302, method: 'resources/list', params: { cursor: 'bogus' } }), 302);
      assert.equal(bogus.error?.code, -32602);
      const prefix = ids[0].slice(0, 3);
      const c = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 303, method: 'completion/complete', params: { ref: { type: 'ref/resource', uri: 'datatools://results/{result_id}{?offset,limit}' }, argument: { name: 'result_id', value: prefix } } }), 303);
      const values = (c.result!.completion as { values: string[] }).values;
      assert.ok(values.includes(ids[0]));
      assert.ok(values.every(v => v.startsWith(prefix)));
    });

    test('annotations tell the truth for the role: code may destroy data where the roots are writable; install_package reaches the network', async () => {
      const r = await w.send(JSON.stringify({ jsonrpc: '2.0', id: 400, method: 'tools/list' }), 400);
      const tools = r.result!.tools as { name: string; annotations: { destructiveHint: boolean; openWorldHint: boolean; readOnlyHint: boolean } }[];
      const by = Object.fromEntries(tools.map(t => [t.name, t.annotations]));
      assert.equal(by.execute_code.destructiveHint, true, 'a data engineer may write files, so code may too');
      assert.equal(by.run_script.destructiveHint, true);
      assert.equal(by.execute_query.readOnlyHint, true);
      assert.equal(by.execute_query.destructiveHint, false);
      assert.equal(by.install_package, undefined, 'not a data engineer tool');
    });

    test('stop', async () => { await w.close(); });
  });
}

test('install_package is openWorld; code is not destructive for a role whose roots are read-only; the session start is a log message', async () => {
  const p = spawn(process.execPath, [MCP_JS], { env: { ...env, DATATOOLS_ROLE: 'data_scientist' }, stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  const lines = readline.createInterface({ input: p.stdout! });
  const answers: Msg[] = [];
  const notes: Msg[] = [];
  const got = new Promise<void>(r => lines.on('line', l => { const m = JSON.parse(l) as Msg; if ('method' in m) { notes.push(m); return; } answers.push(m); if (answers.length === 2) r(); }));
  p.stdin!.write(`${JSON.stringify(INIT)}\n${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })}\n`);
  await got;
  const tools = answers[1].result!.tools as { name: string; annotations: { destructiveHint: boolean; openWorldHint: boolean } }[];
  const by = Object.fromEntries(tools.map(t => [t.name, t.annotations]));
  assert.equal(by.install_package.openWorldHint, true);
  assert.equal(by.execute_code.destructiveHint, false);
  assert.equal(by.execute_code.openWorldHint, false);
  // the logging capability: the session's start is a notifications/message
  const caps = (answers[0].result as { capabilities: Record<string, unknown> }).capabilities;
  assert.ok(caps.logging, 'logging is a capability');
  const start = notes.find(n => n.method === 'notifications/message');
  assert.match(String((start?.params as { data?: unknown })?.data), /session started: role data_scientist, \d+ tools/);
  p.kill();
});

test('a silent execute_code sends progress at least every 5 s', { timeout: 120_000 }, async () => {
  const { client, close } = await connectMcp({ ...env, DATATOOLS_ROLE: 'ml_engineer' });
  try {
    const beats: { at: number; message?: string }[] = [];
    const t0 = Date.now();
    const r = await client.callTool({ name: 'execute_code', arguments: { code: 'import time\ntime.sleep(12)\nprint("done")' } }, undefined,
      { onprogress: p => { beats.push({ at: Date.now() - t0, message: p.message }); }, timeout: 90_000 });
    assert.notEqual(r.isError, true);
    const running = beats.filter(b => /still running after \d+ s/.test(b.message ?? ''));
    assert.ok(running.length >= 2, `progress while the code printed nothing: ${JSON.stringify(beats)}`);
    const gaps = beats.map((b, i) => b.at - (i ? beats[i - 1].at : 0));
    assert.ok(Math.max(...gaps.slice(1)) < 6500, `no silence past 5 s between beats: ${gaps.join(', ')}`);
  } finally { await close(); }
});

test('notifications/cancelled during execute_code interrupts the cell; the session keeps its variables; the audit line says cancelled', { timeout: 120_000 }, async () => {
  const audit = path.join(tmpDir('mcp-cancel'), 'audit.jsonl');
  const { client, close } = await connectMcp({ ...env, DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_AUDIT_LOG: audit });
  try {
    const set = await client.callTool({ name: 'execute_code', arguments: { code: 'kept = [1, 2, 3]' } });
    assert.notEqual(set.isError, true);
    const ac = new AbortController();
    const call = client.callTool({ name: 'execute_code', arguments: { code: 'import time\nfor i in range(600):\n  time.sleep(0.1)' } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort('the user pressed stop'), 1500);
    await assert.rejects(call);
    const after = await client.callTool({ name: 'execute_code', arguments: { code: 'print(sum(kept))' } });
    const t = (after.content as { type: string; text: string }[])[0].text;
    assert.match(t, /\b6\b/, 'the variable survived the cancel');
    assert.doesNotMatch(t, /session restarted|previous execute_code was cancelled/);
    const deadline = Date.now() + 10_000;
    let lines: { tool: string; outcome: string }[] = [];
    while (Date.now() < deadline) {
      lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map(l => JSON.parse(l));
      if (lines.some(l => l.outcome === 'cancelled')) break;
      await new Promise(r => setTimeout(r, 200));
    }
    assert.ok(lines.some(l => l.tool === 'execute_code' && l.outcome === 'cancelled'), JSON.stringify(lines));
  } finally { await close(); }
});
