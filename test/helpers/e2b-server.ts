import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { LocalSandbox } from '../../src/core/exec/local';
import { resolveConfig } from '../../src/core/config';
import { tmpDir } from './mcp';

/**
 * A local stand-in for E2B, because the E2B cloud cannot be reached from here. It speaks the wire protocol the real
 * SDK uses, so `@e2b/code-interpreter` runs unmodified against it (E2B_API_URL and E2B_SANDBOX_URL point here):
 *  - the control-plane API: POST /v2/sandboxes (X-API-KEY checked), DELETE /sandboxes/:id, POST /sandboxes/:id/timeout,
 *    PUT /sandboxes/:id/network;
 *  - envd: GET /health, POST /files (multipart or octet-stream uploads);
 *  - the code-interpreter server: POST /execute answering with the same NDJSON messages as E2B's open-source
 *    server (stdout, stderr, result with mime fields, error, number_of_executions), executed by a real IPython
 *    kernel (the local sandbox), one per sandbox, so state persists between calls like in a real sandbox.
 * `expire(id)` makes a sandbox vanish the way one does when its lifetime ends (the execute route answers 502).
 */
export interface FakeE2B {
  url: string;
  apiKey: string;
  log: { method: string; path: string; sandbox?: string }[];
  sandboxes: Map<string, { kernel: LocalSandbox; dir: string; files: Map<string, Buffer>; internet: boolean[]; alive: boolean }>;
  expire(id: string): void;
  /** The next sandbox creation fails with this status (e.g. 429: rate limit or concurrency quota). */
  failNextCreate(status: number, message: string): void;
  close(): Promise<void>;
}

export async function startFakeE2B(): Promise<FakeE2B> {
  const apiKey = `e2b_test_${randomUUID().slice(0, 8)}`;
  const root = tmpDir('e2b-fake');
  const sandboxes: FakeE2B['sandboxes'] = new Map();
  const log: FakeE2B['log'] = [];
  const json = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const readBody = (req: http.IncomingMessage) => new Promise<Buffer>(r => { const c: Buffer[] = []; req.on('data', d => c.push(d)); req.on('end', () => r(Buffer.concat(c))); });
  let failCreate: { status: number; message: string } | undefined;
  const current = (req: http.IncomingMessage) => String(req.headers['e2b-sandbox-id'] ?? [...sandboxes.keys()].pop() ?? '');

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    log.push({ method: req.method ?? '', path: p, sandbox: req.headers['e2b-sandbox-id'] as string | undefined });
    try {
      if (req.method === 'POST' && p === '/v2/sandboxes') {
        if (req.headers['x-api-key'] !== apiKey) return json(res, 401, { code: 401, message: 'Invalid API key, it must start with e2b_ prefix' });
        if (failCreate) { const f = failCreate; failCreate = undefined; return json(res, f.status, { code: f.status, message: f.message }); }
        const body = JSON.parse((await readBody(req)).toString() || '{}');
        const id = `sbx${randomUUID().replace(/-/g, '').slice(0, 16)}`;
        const dir = path.join(root, id);
        // the sandbox's own filesystem: /home/user and /tmp live in host folders the kernel sees at those paths
        const home = path.join(dir, 'fs', 'home', 'user');
        const tmp = path.join(dir, 'fs', 'tmp');
        fs.mkdirSync(home, { recursive: true });
        fs.mkdirSync(tmp, { recursive: true });
        const kernel = new LocalSandbox(resolveConfig({ role: 'ml_engineer', allowedPaths: [dir], auditLogPath: path.join(root, 'audit.jsonl') }),
          { binds: [[home, '/home/user'], [tmp, '/tmp']] });
        sandboxes.set(id, { kernel, dir, files: new Map(), internet: [body.allow_internet_access !== false], alive: true });
        return json(res, 201, { sandboxID: id, templateID: body.templateID, clientID: 'local', alias: 'code-interpreter-v1', envdVersion: '0.5.4', envdAccessToken: null, domain: null });
      }
      const m = /^\/sandboxes\/([^/]+)(\/timeout|\/network)?$/.exec(p);
      if (m) {
        const s = sandboxes.get(m[1]);
        if (!s || !s.alive) return json(res, 404, { code: 404, message: `sandbox "${m[1]}" doesn't exist or you don't have access to it` });
        if (req.method === 'DELETE' && !m[2]) { s.alive = false; await s.kernel.dispose(); return json(res, 204); }
        if (req.method === 'POST' && m[2] === '/timeout') { await readBody(req); return json(res, 204); }
        if (req.method === 'PUT' && m[2] === '/network') { const b = JSON.parse((await readBody(req)).toString()); s.internet.push(!!b.allow_internet_access); return json(res, 204); }
      }
      if (p === '/health') return json(res, 204);
      const s = sandboxes.get(current(req));
      if (!s || !s.alive) { res.writeHead(502); return res.end('The sandbox was not found'); }
      if (req.method === 'POST' && p === '/files') {
        const target = url.searchParams.get('path') ?? '';
        const raw = await readBody(req);
        const ct = String(req.headers['content-type'] ?? '');
        const files: [string, Buffer][] = [];
        if (ct.startsWith('multipart/form-data')) {
          const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(raw) }).formData();
          type Part = string | { name: string; arrayBuffer(): Promise<ArrayBuffer> };
          for (const [, v] of (form as unknown as { entries(): IterableIterator<[string, Part]> }).entries()) {
            if (typeof v !== 'string') files.push([target || v.name, Buffer.from(await v.arrayBuffer())]);
          }
        } else files.push([target, raw]);
        for (const [f, b] of files) {
          // like envd running as "user": only its home and /tmp are writable
          if (!/^\/(home\/user|tmp)\//.test(f) || f.includes('..')) return json(res, 403, { code: 403, message: `permission denied: ${f}` });
          const onDisk = path.join(s.dir, 'fs', f);
          fs.mkdirSync(path.dirname(onDisk), { recursive: true });
          fs.writeFileSync(onDisk, b);
          s.files.set(f, b);
        }
        return json(res, 200, files.map(([f]) => ({ name: path.basename(f), type: 'file', path: f })));
      }
      if (req.method === 'POST' && p === '/execute') {
        const body = JSON.parse((await readBody(req)).toString());
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.flushHeaders(); // a streaming response, as E2B's server sends it
        const send = (o: object) => res.write(`${JSON.stringify({ ...o, timestamp: new Date().toISOString() })}\n`);
        const ac = new AbortController();
        res.on('close', () => { if (!res.writableFinished) ac.abort(); });
        const e = await s.kernel.execute(body.code, { timeoutMs: 10 * 60_000, signal: ac.signal, onStream: (name, text) => send({ type: name, text }) });
        for (const r of e.results) {
          send({ type: 'result', is_main_result: r.isMainResult, text: r.text, html: r.html, png: r.png, jpeg: r.jpeg, svg: r.svg, json: r.json });
        }
        if (e.error) send({ type: 'error', name: e.error.name, value: e.error.value, traceback: e.error.traceback });
        send({ type: 'number_of_executions', execution_count: e.executionCount ?? 0 });
        return res.end();
      }
      json(res, 404, { code: 404, message: `no route ${req.method} ${p}` });
    } catch (e) {
      if (!res.headersSent) json(res, 500, { code: 500, message: String(e) }); else res.end();
    }
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, apiKey, log, sandboxes,
    failNextCreate: (status, message) => { failCreate = { status, message }; },
    expire: id => { const s = sandboxes.get(id); if (s) { s.alive = false; void s.kernel.dispose(); } },
    close: async () => {
      for (const s of sandboxes.values()) await s.kernel.dispose();
      server.closeAllConnections();
      await new Promise(r => server.close(r));
    },
  };
}
