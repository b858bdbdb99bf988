import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';
import { startFakeE2B, type FakeE2B } from '../helpers/e2b-server';

// The E2B cloud is not reachable from here: these tests run the real @e2b/code-interpreter SDK, unmodified, against
// a local endpoint that speaks E2B's wire protocol (test/helpers/e2b-server.ts), executing with a real IPython kernel.
describe('the E2B backend: the real SDK against a local E2B-protocol endpoint', () => {
  let fake: FakeE2B;
  let host: ToolHost;
  const root = tmpDir('e2b-root');
  const call = (name: string, input: unknown, onProgress?: (e: { kind: string; text: string }) => void) => host.call(name, input, { caller: 'test', onProgress });

  before(async () => {
    fake = await startFakeE2B();
    process.env.E2B_API_URL = fake.url;
    process.env.E2B_SANDBOX_URL = fake.url;
    host = new ToolHost(resolveConfig({ role: 'ml_engineer', executor: 'e2b', e2bApiKey: fake.apiKey, allowedPaths: [root], auditLogPath: path.join(root, '..', `${path.basename(root)}.jsonl`) }));
  });
  after(async () => {
    await host?.dispose();
    await fake?.close();
    delete process.env.E2B_API_URL;
    delete process.env.E2B_SANDBOX_URL;
  });

  test('one sandbox per session, created with the internet off; state survives; stdout streams; a figure is a PNG', async () => {
    const streamed: string[] = [];
    const a = await call('execute_code', { code: 'x = 41\nprint("step one")' }, e => streamed.push(e.text));
    assert.notEqual(a.isError, true, a.text);
    assert.match(a.text, /step one/);
    assert.match(streamed.join(''), /step one/);
    const b = await call('execute_code', { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nx + 1' });
    assert.match(b.text, /42/);
    assert.ok(b.parts.some(p => p.kind === 'image' && p.mimeType === 'image/png'), 'a PNG part');
    assert.equal(fake.sandboxes.size, 1, 'the sandbox is reused');
    const [s] = fake.sandboxes.values();
    assert.deepEqual(s.internet, [false], 'created without internet access');
    assert.ok(fake.log.some(l => l.method === 'POST' && l.path === '/v2/sandboxes'));
  });

  test('an error comes back with name, value and traceback', async () => {
    const r = await call('execute_code', { code: 'def f():\n    return 1 / 0\nf()' });
    assert.equal(r.isError, true);
    assert.match(r.text, /ZeroDivisionError/);
    assert.ok(r.parts.some(p => p.kind === 'error' && /f\(\)/.test(p.traceback)), 'the traceback names the frame');
  });

  test('output past the caps is cut as it arrives, as on the local sandbox (exec/output.ts): 3 MB on stderr, 40 displays of 1 MB; the sandbox stays usable', async () => {
    // fd 2 of the kernel process reaches the endpoint whole (the local kernel caps only what Python's sys.stderr writes)
    const r = await call('execute_code', { code: "import os\nfor _ in range(3): os.write(2, b'e' * 1_000_000)\nfrom IPython.display import display, HTML\nfor i in range(40): display(HTML('<b>' + 'h' * 1_000_000 + '</b>'))\ny = 7" });
    assert.notEqual(r.isError, true, r.text.slice(0, 500));
    const err = r.parts.find(p => p.kind === 'stream' && p.name === 'stderr') as { text: string };
    assert.equal(err.text.length, 1024 * 1024, 'stderr kept up to the 1 MiB cap');
    assert.match(r.text, new RegExp(`\\[output cut at 1 MB \\(stdout and stderr together\\): 1\\.9 MB more not shown \\(${(3_000_000 - 1024 * 1024).toLocaleString('en-US')} bytes\\); print less`));
    const html = r.text.split('\n').filter(l => l === '[display] <IPython.core.display.HTML object>');
    assert.ok(html.length >= 30 && html.length < 40, `${html.length} displays kept under the 32 MB cap`);
    assert.match(r.text, new RegExp(`\\[display\\] \\[output cut: ${40 - html.length} more displays \\([\\d.]+ MB\\) not shown: the displays of one call are capped at 32 MB`));
    const after = await call('execute_code', { code: 'y * 6' });
    assert.match(after.text, /42/, 'the same sandbox, its state kept');
  });

  test('get_environment says e2b, with the network policy', async () => {
    const r = await call('get_environment', {});
    assert.match(r.text, /Backend: e2b; isolation: E2B cloud sandbox/);
    assert.match(r.text, /Network: off/);
  });

  test('a file the code names under a data root is uploaded to the same path first (a saved query result)', async () => {
    const f = path.join(root, 'result.csv');
    fs.writeFileSync(f, 'a,b\n1,2\n3,4\n');
    const r = await call('execute_code', { code: `import pandas as pd\nprint(pd.read_csv(${JSON.stringify(f)}).b.sum())` });
    assert.notEqual(r.isError, true, r.text);
    assert.match(r.text, /\b6\b/);
    const [s] = fake.sandboxes.values();
    assert.equal(s.files.get(f)?.toString(), 'a,b\n1,2\n3,4\n');
  });

  test('run_script uploads the script and reports its output and exit code', async () => {
    const f = path.join(root, 'job.py');
    fs.writeFileSync(f, 'import sys\nprint("args", sys.argv[1:])\nsys.exit(3)\n');
    const de = new ToolHost(resolveConfig({ role: 'data_engineer', executor: 'e2b', e2bApiKey: fake.apiKey, allowedPaths: [root], auditLogPath: path.join(root, '..', 'de.jsonl') }));
    const r = await de.call('run_script', { script_path: f, args: ['--n', '5'] }, { caller: 'test' }).finally(() => de.dispose());
    assert.match(r.text, /exit code 3/);
    assert.match(r.text, /args \['--n', '5'\]/);
    assert.ok([...fake.sandboxes.values()].some(s => s.files.has(f)), 'uploaded to its own path, run in its own folder');
  });

  test('run_script brings back a figure shown with plt.show() as a PNG part (issue 16)', async () => {
    const f = path.join(root, 'chart.py');
    fs.writeFileSync(f, 'import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 2), dpi=50)\nplt.plot([1, 2])\nplt.show()\n');
    const de = new ToolHost(resolveConfig({ role: 'data_engineer', executor: 'e2b', e2bApiKey: fake.apiKey, allowedPaths: [root], auditLogPath: path.join(root, '..', 'de2.jsonl') }));
    const r = await de.call('run_script', { script_path: f }, { caller: 'test' }).finally(() => de.dispose());
    assert.equal(r.isError, false, r.text);
    const imgs = r.parts.filter(p => p.kind === 'image');
    assert.equal(imgs.length, 1, r.text);
    const png = Buffer.from(imgs[0].kind === 'image' ? imgs[0].data : '', 'base64');
    assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [100, 100]);
    assert.match(r.text, /\[figures\] 1 matplotlib figure captured/);
  });

  test('relative paths work as on the local backend: execute_code in the workspace folder, run_script in the script\'s folder', async () => {
    const ws = path.join(root, 'project');
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'data', 'orders.csv'), 'id,amount\n1,9.5\n2,3.25\n');
    fs.mkdirSync(path.join(ws, 'jobs', 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'jobs', 'data', 'orders.csv'), 'id,amount\n7,1\n');
    fs.writeFileSync(path.join(ws, 'jobs', 'report.py'), 'import os, pandas as pd\nprint(os.getcwd())\nprint(pd.read_csv("data/orders.csv").id.tolist())\n');
    const de = new ToolHost(resolveConfig({ role: 'data_engineer', executor: 'e2b', e2bApiKey: fake.apiKey, allowedPaths: [root], workspaceDir: ws, auditLogPath: path.join(root, '..', 'ws.jsonl') }));
    try {
      const r = await de.call('execute_code', { code: "import os, pandas as pd\nprint(os.getcwd())\npd.read_csv('data/orders.csv').amount.sum()" }, { caller: 'test' });
      assert.notEqual(r.isError, true, r.text);
      assert.ok(r.text.includes(`[stdout]\n${ws}\n`), r.text);
      assert.match(r.text, /12\.75/);
      const s = await de.call('run_script', { script_path: path.join(ws, 'jobs', 'report.py') }, { caller: 'test' });
      assert.equal(s.isError, false, s.text);
      assert.ok(s.text.includes(`${path.join(ws, 'jobs')}\n[7]`), s.text);
    } finally { await de.dispose(); }
  });

  test('install_package opens the network for pip only and closes it again', async () => {
    const r = await call('install_package', { packages: ['no-such-package-dt'] });
    // nothing can be downloaded here; what matters is the SDK's network calls around pip, and a clear error
    assert.equal(r.isError, true);
    assert.match(r.text, /pip install no-such-package-dt failed/);
    const [s] = fake.sandboxes.values();
    assert.deepEqual(s.internet, [false, true, false]);
  });

  test('a sandbox that ended (lifetime) is replaced transparently and the state loss is reported', async () => {
    const [id] = fake.sandboxes.keys();
    fake.expire(id);
    const r = await call('execute_code', { code: 'print("still here", "x" in globals())' });
    assert.notEqual(r.isError, true, r.text);
    assert.match(r.text, /still here False/);
    assert.match(r.text, /sandbox had ended; the code ran in a new sandbox\. Variables from earlier calls are gone/);
    assert.equal([...fake.sandboxes.values()].filter(s => s.alive).length, 1);
  });

  test('a timeout replaces the sandbox and says so; the next call works', async () => {
    const r = await call('execute_code', { code: 'while True: pass', timeout: 2 });
    assert.equal(r.isError, true);
    assert.match(r.text, /timeout/i);
    assert.match(r.text, /state|restart|replaced/i);
    const ok = await call('execute_code', { code: 'print(6 * 7)' });
    assert.match(ok.text, /42/);
    const killed = fake.log.filter(l => l.method === 'DELETE');
    assert.ok(killed.length >= 1, 'the timed-out sandbox was killed');
  });

  test('a rate limit or quota refusal gets a clear message, and the next call starts a sandbox', async () => {
    const h = new ToolHost(resolveConfig({ role: 'ml_engineer', executor: 'e2b', e2bApiKey: fake.apiKey, allowedPaths: [root], auditLogPath: path.join(root, '..', 'quota.jsonl') }));
    try {
      fake.failNextCreate(429, 'You have reached the maximum number of concurrent E2B sandboxes');
      const r = await h.call('execute_code', { code: '1 + 1' }, { caller: 'test' });
      assert.equal(r.isError, true);
      assert.match(r.text, /E2B refused to start another sandbox: rate limit or quota reached/);
      const ok = await h.call('execute_code', { code: '1 + 1' }, { caller: 'test' });
      assert.match(ok.text, /\b2\b/);
    } finally { await h.dispose(); }
  });

  test('a wrong API key gets a clear message', async () => {
    const bad = new ToolHost(resolveConfig({ role: 'ml_engineer', executor: 'e2b', e2bApiKey: 'e2b_wrong', allowedPaths: [root], auditLogPath: path.join(root, '..', 'bad.jsonl') }));
    try {
      const r = await bad.call('execute_code', { code: '1' }, { caller: 'test' });
      assert.equal(r.isError, true);
      assert.match(r.text, /E2B rejected the API key/);
    } finally { await bad.dispose(); }
  });
});

describe('the E2B backend against the real E2B cloud', () => {
  const key = process.env.E2B_LIVE_API_KEY ?? process.env.E2B_API_KEY;
  test('runs code in a real E2B sandbox', { skip: key ? false : 'E2B_API_KEY is not set (and api.e2b.dev is not reachable from this machine): the live E2B test did not run' }, async () => {
    const root = tmpDir('e2b-live');
    const h = new ToolHost(resolveConfig({ role: 'ml_engineer', executor: 'e2b', e2bApiKey: key, allowedPaths: [root], auditLogPath: path.join(root, 'a.jsonl') }));
    try {
      const r = await h.call('execute_code', { code: 'x = 20\nx * 2 + 2' }, { caller: 'test' });
      assert.match(r.text, /42/);
    } finally { await h.dispose(); }
  });
});
