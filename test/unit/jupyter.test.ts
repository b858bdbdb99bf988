import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ToolHost } from '../../src/core/host';
import { ConfigError, configFromEnv, resolveConfig, type DataToolsConfig } from '../../src/core/config';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { freePort, startBlockingProxy, startJupyter, type JupyterServer } from '../helpers/jupyter';

/** A real wheel, built with the standard library (no network): package dtjwheel 0.1.0 with one function. */
function buildWheel(dir: string): void {
  execFileSync('/usr/bin/python3', ['-c', `
import base64, hashlib, sys, zipfile
out = sys.argv[1] + '/dtjwheel-0.1.0-py3-none-any.whl'
files = {
  'dtjwheel/__init__.py': 'def hello():\\n    return "hello from a wheel"\\n',
  'dtjwheel-0.1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: dtjwheel\\nVersion: 0.1.0\\n',
  'dtjwheel-0.1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
def h(d): return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()
record = ''.join(f'{n},{h(c)},{len(c.encode())}\\n' for n, c in files.items()) + 'dtjwheel-0.1.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(out, 'w') as z:
    for n, c in files.items(): z.writestr(n, c)
    z.writestr('dtjwheel-0.1.0.dist-info/RECORD', record)
`, dir]);
}

async function kernels(s: JupyterServer): Promise<{ id: string }[]> {
  const r = await fetch(`${s.url}api/kernels`, { headers: { Authorization: `token ${s.token}` } });
  return await r.json() as { id: string }[];
}

// Debian's jupyter-server on loopback, started by the test with a random token and port. It runs in bubblewrap with its
// own /tmp, so the test's data roots (under the host /tmp) are invisible to its kernels, as on a remote machine: files
// reach the kernel only through the contents API. Its python3 kernel runs in a venv (--system-site-packages) so that
// install_package can really install (offline, from a wheel the test builds: PIP_NO_INDEX/PIP_FIND_LINKS).
describe('the Jupyter backend: a kernel on a real jupyter-server, through the tool layer', () => {
  let server: JupyterServer;
  let host: ToolHost;
  const root = tmpDir('jroot');
  const work = tmpDir('jwork');
  const cfg = (over: Partial<DataToolsConfig> = {}) => resolveConfig({
    role: 'ml_engineer', executor: 'jupyter', jupyterUrl: server.url, jupyterToken: server.token, allowedPaths: [root],
    auditLogPath: path.join(work, 'audit.jsonl'), ...over,
  });
  const call = (name: string, input: unknown, onProgress?: (e: { kind: string; text: string }) => void) => host.call(name, input, { caller: 'test', onProgress });
  const run = (code: string, timeout?: number) => call('execute_code', { code, timeout });

  before(async () => {
    const venv = path.join(work, 'venv');
    execFileSync('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', '--without-pip', venv]);
    const wheels = path.join(work, 'wheels');
    fs.mkdirSync(wheels);
    buildWheel(wheels);
    // the venv has no pip of its own: the system pip (python3-pip) runs inside it through --system-site-packages
    server = await startJupyter({ privateTmp: false, kernelPython: path.join(venv, 'bin', 'python'), env: { PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheels } });
    host = new ToolHost(cfg());
  });
  after(async () => {
    await host?.dispose();
    await server?.close();
  });

  test('state survives between calls; stdout streams; the last expression is the result with its execution count', async () => {
    const streamed: string[] = [];
    const a = await call('execute_code', { code: 'x = 40\nprint("step one")' }, e => streamed.push(e.text));
    assert.equal(a.isError, false, a.text);
    assert.match(a.text, /step one/);
    assert.match(streamed.join(''), /step one/);
    const b = await run('x + 2');
    assert.match(b.text, /\[Out 2\] 42/);
    assert.match(b.text, /\(cell 2\)/);
  });

  test('output past the caps is cut as it arrives, as on the local sandbox (exec/output.ts): 3 MB printed (as jupyter-server lets it through), 40 displays of 1 MB; the kernel stays usable', async () => {
    // printed under jupyter-server's own IOPub rate limit (1 MB/s over 3 s), which would otherwise stop the stream first
    const r = await run("import time\nfor _ in range(12):\n    print('x' * 250_000, end='', flush=True)\n    time.sleep(0.3)\nfrom IPython.display import display, HTML\nfor i in range(40): display(HTML('<b>' + 'h' * 1_000_000 + '</b>'))\ny = 7");
    assert.equal(r.isError, false, r.text.slice(0, 500));
    const out = r.parts.find(p => p.kind === 'stream' && p.name === 'stdout') as { text: string };
    assert.ok(out, r.text.slice(0, 3000));
    assert.equal(out.text.length, 1024 * 1024, 'stdout kept up to the 1 MiB cap');
    // 3,000,000 bytes printed, 1 MiB kept
    assert.match(r.text, new RegExp(`\\[output cut at 1 MB \\(stdout and stderr together\\): 1\\.9 MB more not shown \\(${(3_000_000 - 1024 * 1024).toLocaleString('en-US')} bytes\\); print less`));
    const html = r.text.split('\n').filter(l => l === '[display] <IPython.core.display.HTML object>');
    assert.ok(html.length >= 30 && html.length < 40, `${html.length} displays kept under the 32 MB cap`);
    assert.match(r.text, new RegExp(`\\[display\\] \\[output cut: ${40 - html.length} more displays \\([\\d.]+ MB\\) not shown: the displays of one call are capped at 32 MB`));
    const after = await run('y * 6');
    assert.match(after.text, /\[Out \d+\] 42/, 'the same kernel, its state kept');
  });

  test('a DataFrame comes back as a table (also after a restart), a Series too', async () => {
    const f = path.join(root, 'data.csv');
    fs.writeFileSync(f, 'a,b\n1,2\n3,4\n');
    const df = await run(`import pandas as pd\ndf = pd.read_csv(${JSON.stringify(f)})\ndf`);
    assert.equal(df.isError, false, df.text);
    assert.match(df.text, /\[table\] 2 rows × 2 columns\ncolumns: a int64, b int64\na \| b\n1 \| 2\n3 \| 4/);
    assert.ok(df.parts.some(p => p.kind === 'table' && p.totalRows === 2));
    const s = await run('df.b.rename("bee")');
    assert.match(s.text, /\[table\] 2 rows × 1 columns?/);
  });

  test('a matplotlib figure is a PNG part; SVG display data is an SVG part', async () => {
    const fig = await run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("t")');
    assert.equal(fig.isError, false, fig.text);
    const png = fig.parts.find(p => p.kind === 'image');
    assert.ok(png && png.kind === 'image' && png.mimeType === 'image/png', fig.text);
    assert.equal(Buffer.from(png.data, 'base64').subarray(1, 4).toString(), 'PNG');
    assert.match(fig.text, /\[image\] PNG figure #1/);
    const svg = await run('from IPython.display import SVG, display\ndisplay(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\'))');
    const part = svg.parts.find(p => p.kind === 'image');
    assert.ok(part && part.kind === 'image' && part.mimeType === 'image/svg+xml', svg.text);
    assert.match(Buffer.from(part.data, 'base64').toString(), /<rect width="4"/);
  });

  test('errors come back with name, value and a plain-text traceback that names the frame', async () => {
    const z = await run('def f():\n    return 1 / 0\nf()');
    assert.equal(z.isError, true);
    assert.match(z.text, /\[error\] ZeroDivisionError: division by zero/);
    const part = z.parts.find(p => p.kind === 'error');
    assert.ok(part && part.kind === 'error' && /f\(\)/.test(part.traceback) && /return 1 \/ 0/.test(part.traceback), z.text);
    assert.doesNotMatch(part.traceback, /\u001b\[/, 'ANSI colour codes are stripped');
    const s = await run('def g(:\n  pass');
    assert.match(s.text, /\[error\] SyntaxError/);
    assert.match((await run('x')).text, /\[Out \d+\] 40/, 'an error does not lose the state');
  });

  test('a timeout interrupts the kernel (REST) and keeps its state; a cell that ignores the interrupt gets a new kernel, reported', async () => {
    const r = await run('while True:\n    pass', 2);
    assert.equal(r.isError, true);
    assert.match(r.text, /TimeoutError: Execution stopped after its 2 s timeout; the Jupyter kernel was interrupted and its state is kept/);
    assert.doesNotMatch(r.text, /session restarted/);
    assert.match((await run('x + 1')).text, /\[Out \d+\] 41/, 'the state is kept, as reported');
    const stubborn = await run('import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)', 2);
    assert.equal(stubborn.isError, true);
    assert.match(stubborn.text, /did not stop on interrupt and was replaced by a new one/);
    assert.match(stubborn.text, /session restarted: timeout/);
    assert.match((await run('x')).text, /NameError/, 'the state is gone, as reported');
    assert.match((await run('6 * 7')).text, /\[Out \d+\] 42/);
    assert.match((await run('import pandas as pd\npd.DataFrame({"k": [1, 2, 3]})')).text, /\[table\] 3 rows × 1 columns?/, 'the table display survives the restart');
    assert.equal((await kernels(server)).length, 1, 'the old kernel was shut down');
  });

  test('Cancel interrupts the running cell and keeps the state; a kernel that dies under a cell is restarted, and that is reported', async () => {
    await run('kept = 7');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    const c = await host.call('execute_code', { code: 'import time\nwhile True:\n    time.sleep(0.05)' }, { caller: 'test', signal: ac.signal });
    assert.equal(c.isError, true);
    assert.match(c.text, /Execution was cancelled; the Jupyter kernel was interrupted and its state is kept/);
    assert.match((await run('kept * 6')).text, /\[Out \d+\] 42/);
    const d = await run('import os\nos._exit(1)');
    assert.equal(d.isError, true);
    assert.match(d.text, /KernelDied: The Jupyter kernel died while running this code/);
    assert.match(d.text, /session restarted: crash/);
    assert.match((await run('"kept" in globals()')).text, /\[Out \d+\] False/);
    assert.match((await run('6 * 7')).text, /\[Out \d+\] 42/);
  });

  test('a file the code names under a data root reaches the kernel through the contents API, at the same path', async () => {
    const f = path.join(root, 'result.csv');
    fs.writeFileSync(f, 'a,b\n1,2\n3,4\n');
    const r = await run(`import pandas as pd\nprint(pd.read_csv(${JSON.stringify(f)}).b.sum())`);
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /\b6\b/);
    const sessions = fs.readdirSync(path.join(server.root, 'datatools-sessions'));
    assert.equal(sessions.length, 1);
    assert.equal(fs.readFileSync(path.join(server.root, 'datatools-sessions', sessions[0], 'files', f), 'utf8'), 'a,b\n1,2\n3,4\n');
    // a changed file is uploaded again
    fs.writeFileSync(f, 'a,b\n1,20\n');
    fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
    assert.match((await run(`print(pd.read_csv(${JSON.stringify(f)}).b.sum())`)).text, /\b20\b/);
  });

  test('get_environment says jupyter, the server, the kernel\'s Python and packages', async () => {
    const r = await call('get_environment', {});
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /Backend: jupyter; isolation: a kernel \("python3"\) on the Jupyter server at http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(r.text, /Python 3\.\d+/);
    assert.match(r.text, /pandas \d/);
    assert.doesNotMatch(r.text, new RegExp(server.token));
  });

  test('install_package runs pip of the kernel\'s interpreter; the package is importable in the running kernel', async () => {
    assert.match((await run('import importlib.util; print(importlib.util.find_spec("dtjwheel") is None)')).text, /True/);
    const r = await call('install_package', { packages: ['dtjwheel==0.1.0'] });
    assert.notEqual(r.isError, true, r.text);
    assert.match(r.text, /Installed dtjwheel-0\.1\.0; importable now in this session/);
    const after = await run('import dtjwheel, sys\nprint(dtjwheel.hello(), dtjwheel.__file__.startswith(sys.prefix), sys.prefix != sys.base_prefix)');
    assert.match(after.text, /hello from a wheel True True/);
    const missing = await call('install_package', { packages: ['no-such-package-dt'] });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /pip install no-such-package-dt failed[\s\S]*No matching distribution/);
  });

  test('run_script uploads the script through the contents API and reports output and exit code', async () => {
    const f = path.join(root, 'job.py');
    fs.writeFileSync(f, 'import os, sys\nprint("args", sys.argv[1:], os.path.basename(os.getcwd()))\nsys.exit(3)\n');
    const de = new ToolHost(cfg({ role: 'data_engineer', auditLogPath: path.join(work, 'de.jsonl') }));
    try {
      const r = await de.call('run_script', { script_path: f, args: ['--n', '5'] }, { caller: 'test' });
      assert.match(r.text, /exit code 3/);
      assert.match(r.text, /args \['--n', '5'\] scripts/);
      const slow = path.join(root, 'slow.py');
      fs.writeFileSync(slow, 'import time\ntime.sleep(60)\n');
      const t = await de.call('run_script', { script_path: slow, timeout: 2 }, { caller: 'test' });
      assert.equal(t.isError, true);
      assert.match(t.text, /stopped after its 2 s timeout/);
      // issue 16: a figure shown with plt.show() comes back as a PNG part, as on the local sandbox
      const chart = path.join(root, 'chart.py');
      fs.writeFileSync(chart, 'import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 2), dpi=50)\nplt.plot([1, 2])\nplt.show()\n');
      const c = await de.call('run_script', { script_path: chart }, { caller: 'test' });
      assert.equal(c.isError, false, c.text);
      const imgs = c.parts.filter(p => p.kind === 'image');
      assert.equal(imgs.length, 1, c.text);
      const png = Buffer.from(imgs[0].kind === 'image' ? imgs[0].data : '', 'base64');
      assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [100, 100]);
      assert.match(c.text, /\[figures\] 1 matplotlib figure captured/);
    } finally { await de.dispose(); }
  });

  test('calls are audited like the other backends', () => {
    const lines = fs.readFileSync(path.join(work, 'audit.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { tool: string });
    assert.ok(lines.some(l => l.tool === 'execute_code') && lines.some(l => l.tool === 'install_package'));
    assert.doesNotMatch(fs.readFileSync(path.join(work, 'audit.jsonl'), 'utf8'), new RegExp(server.token));
  });

  test('closing the session shuts its kernel down and removes its uploads', async () => {
    assert.equal((await kernels(server)).length, 1);
    await host.services.reset('exec:jupyter');
    assert.deepEqual(await kernels(server), []);
    assert.ok(!fs.existsSync(path.join(server.root, 'datatools-sessions')), 'the session folder is gone');
    assert.match((await run('print("fresh")')).text, /fresh/);
    assert.equal((await kernels(server)).length, 1);
  });

  test('a wrong token, an unknown kernel name and an unreachable server each get a clear message', async () => {
    const bad = new ToolHost(cfg({ jupyterToken: 'wrong-token', auditLogPath: path.join(work, 'bad.jsonl') }));
    try {
      const r = await bad.call('execute_code', { code: '1' }, { caller: 'test' });
      assert.equal(r.isError, true);
      assert.match(r.text, /The Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ rejected the token \(HTTP 403\)\. Set the server's token/);
      assert.doesNotMatch(r.text, /wrong-token/);
    } finally { await bad.dispose(); }
    const nokernel = new ToolHost(cfg({ jupyterKernel: 'no-such-kernel', auditLogPath: path.join(work, 'nokernel.jsonl') }));
    try {
      const r = await nokernel.call('execute_code', { code: '1' }, { caller: 'test' });
      assert.equal(r.isError, true);
      assert.match(r.text, /The Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ has no kernel named "no-such-kernel"; it has "python3" \(default "python3"\)\. Fix datatools\.jupyter\.kernelName/);
    } finally { await nokernel.dispose(); }
    const port = await freePort();
    const gone = new ToolHost(cfg({ jupyterUrl: `http://127.0.0.1:${port}/`, auditLogPath: path.join(work, 'gone.jsonl') }));
    try {
      const r = await gone.call('execute_code', { code: '1' }, { caller: 'test' });
      assert.equal(r.isError, true);
      assert.match(r.text, new RegExp(`Could not reach the Jupyter server at http://127\\.0\\.0\\.1:${port}/ \\(ECONNREFUSED\\)`));
      assert.doesNotMatch(r.text, new RegExp(server.token));
    } finally { await gone.dispose(); }
  });

  test('through the bundled MCP server (DATATOOLS_EXECUTOR=jupyter) with the MCP client SDK: state, a PNG, a clean protocol stream', async () => {
    const before = (await kernels(server)).length;
    const { client, close, stderr } = await connectMcp({
      DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_EXECUTOR: 'jupyter', DATATOOLS_JUPYTER_URL: server.url, DATATOOLS_JUPYTER_TOKEN: server.token,
      DATATOOLS_ALLOWED_PATHS: root, DATATOOLS_AUDIT_LOG: path.join(work, 'mcp.jsonl'),
    });
    const text = (r: Awaited<ReturnType<typeof client.callTool>>) => (r.content as { type: string; text?: string }[]).filter(c => c.type === 'text').map(c => c.text).join('\n');
    try {
      const a = await client.callTool({ name: 'execute_code', arguments: { code: 'y = 20' } });
      assert.notEqual(a.isError, true, text(a));
      const b = await client.callTool({ name: 'execute_code', arguments: { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\ny * 2 + 2' } });
      assert.match(text(b), /\[Out \d+\] 42/);
      assert.ok((b.content as { type: string; mimeType?: string }[]).some(c => c.type === 'image' && c.mimeType === 'image/png'), 'a PNG image content');
      assert.equal((await kernels(server)).length, before + 1, 'the MCP server runs its own kernel');
      assert.match(stderr(), /Starting WebSocket/, 'the client\'s logging went to stderr, not into the protocol');
    } finally { await close(); }
    for (let i = 0; i < 50 && (await kernels(server)).length > before; i++) await new Promise(r => setTimeout(r, 100));
    assert.equal((await kernels(server)).length, before, 'the MCP server shut its kernel down when it closed');
  });
});

describe('the Jupyter backend against a server that cannot see the data roots (its own /tmp)', () => {
  test('files named by the code and scripts travel through the contents API', async () => {
    const root = tmpDir('jroot-remote');
    const server = await startJupyter({ privateTmp: true });
    const host = new ToolHost(resolveConfig({ role: 'data_engineer', executor: 'jupyter', jupyterUrl: server.url, jupyterToken: server.token, allowedPaths: [root], auditLogPath: path.join(root, '..', `${path.basename(root)}.jsonl`) }));
    try {
      const f = path.join(root, 'data.csv');
      fs.writeFileSync(f, 'a,b\n1,2\n3,4\n');
      fs.writeFileSync(path.join(root, 'unnamed.txt'), 'x');
      const hidden = await host.call('execute_code', { code: `import os\nprint(os.path.exists(${JSON.stringify(root)} + "/unnamed.txt"))` }, { caller: 'test' });
      assert.match(hidden.text, /False/, 'the server really cannot see the host\'s data root');
      const r = await host.call('execute_code', { code: `print(open(${JSON.stringify(f)}).read().count("\\n"))` }, { caller: 'test' });
      assert.equal(r.isError, false, r.text);
      assert.match(r.text, /\b3\b/);
      fs.writeFileSync(path.join(root, 'job.py'), 'import sys\nprint("ran remotely", open(sys.argv[1]).read().strip())\n');
      fs.writeFileSync(path.join(root, 'arg.txt'), 'arg file content');
      const s = await host.call('run_script', { script_path: path.join(root, 'job.py'), args: [path.join(root, 'arg.txt')] }, { caller: 'test' });
      assert.match(s.text, /exit code 0[\s\S]*ran remotely arg file content/, 'a data file named in the arguments travelled with the script');

      // a server without the contents API (Enterprise Gateway): the same files travel over the kernel channel
      const proxy = await startBlockingProxy(server.url, /^\/api\/contents/);
      const eg = new ToolHost(resolveConfig({ role: 'data_engineer', executor: 'jupyter', jupyterUrl: proxy.url, jupyterToken: server.token, allowedPaths: [root], auditLogPath: path.join(root, '..', `${path.basename(root)}-eg.jsonl`) }));
      try {
        const r2 = await eg.call('execute_code', { code: `print(open(${JSON.stringify(f)}).read().count("\\n"))` }, { caller: 'test' });
        assert.equal(r2.isError, false, r2.text);
        assert.match(r2.text, /\b3\b/);
        fs.writeFileSync(path.join(root, 'job2.py'), 'print("ran without contents API")\n');
        const s2 = await eg.call('run_script', { script_path: path.join(root, 'job2.py') }, { caller: 'test' });
        assert.match(s2.text, /exit code 0[\s\S]*ran without contents API/);
        assert.ok(proxy.blocked.length >= 1, 'the contents API was asked for, and was not there');
        assert.ok(proxy.blocked.every(b => /^GET \/api\/contents\?content=0/.test(b)), `only the probe hit the missing API: ${proxy.blocked.join(', ')}`);
      } finally { await eg.dispose(); await proxy.close(); }
    } finally {
      await host.dispose();
      await server.close();
    }
  });
});

// ipykernel aborts execute requests that reach it while it is "aborting" after an error sent with stop_on_error: for
// stop_on_error_timeout seconds (0 by default: until its event loop turns once more, which under CPU load can take
// longer than the round trip of the next request). This server's kernels keep aborting for 0.3 s, a setting an
// administrator may choose (its documented use is slow networks): the window that load opens, made wide and certain.
describe('the Jupyter backend against a kernel that aborts requests for a while after an error', () => {
  test('an error followed at once by more code loses no result; a request aborted because of another client runs when sent again', async () => {
    const base = tmpDir('jabort');
    const ipython = path.join(base, 'ipython');
    fs.mkdirSync(path.join(ipython, 'profile_default'), { recursive: true });
    fs.writeFileSync(path.join(ipython, 'profile_default', 'ipython_kernel_config.py'), 'c.IPythonKernel.stop_on_error_timeout = 0.3\n');
    const server = await startJupyter({ env: { IPYTHONDIR: ipython } });
    const host = new ToolHost(resolveConfig({ role: 'ml_engineer', executor: 'jupyter', jupyterUrl: server.url, jupyterToken: server.token, allowedPaths: [base], auditLogPath: path.join(base, 'audit.jsonl') }));
    const run = (code: string) => host.call('execute_code', { code }, { caller: 'test' });
    let other: import('@jupyterlab/services').Kernel.IKernelConnection | undefined;
    try {
      for (let i = 0; i < 5; i++) {
        assert.match((await run(`undefined_name_${i}`)).text, new RegExp(`NameError: name 'undefined_name_${i}' is not defined`));
        const r = await run(`6 * 7 + ${i}`);
        assert.match(r.text, new RegExp(`\\[Out \\d+\\] ${42 + i}`), `round ${i}: the cell after an error ran and its result arrived:\n${r.text}`);
        const e = await run('raise ValueError("boom")');
        assert.match(e.text, /ValueError: boom/);
        const p = await run(`print("after", ${i})`);
        assert.match(p.text, new RegExp(`after ${i}`), `round ${i}: stdout after an error arrived:\n${p.text}`);
      }
      // a second client of the same kernel (e.g. a notebook attached to it) fails a cell with stop_on_error: the
      // kernel aborts whatever comes next for a while; our request did not run, so it is sent again, and runs once
      const { ServerConnection, KernelConnection } = await import('@jupyterlab/services');
      const [model] = await kernels(server) as { id: string; name: string }[];
      const settings = ServerConnection.makeSettings({ baseUrl: server.url, token: server.token, appendToken: true, fetch, Request, Headers });
      other = new KernelConnection({ model, serverSettings: settings, handleComms: false, username: 'other' });
      await other.info;
      assert.match((await run('runs = 0')).text, /finished/);
      const failing = other.requestExecute({ code: 'raise RuntimeError("from the other client")', stop_on_error: true });
      const reply = await failing.done;
      assert.equal(reply.content.status, 'error');
      const after = await run('runs += 1\nruns * 42');
      assert.match(after.text, /\[Out \d+\] 42/, after.text);
      assert.match((await run('runs')).text, /\[Out \d+\] 1\b/, 'the code ran exactly once');
    } finally {
      other?.dispose();
      await host.dispose();
      await server.close();
    }
  });
});

describe('Jupyter configuration from the environment (the MCP server)', () => {
  test('DATATOOLS_EXECUTOR=jupyter takes the URL, token and kernel name; the token is a secret; bad values are refused', () => {
    const c = configFromEnv({ DATATOOLS_EXECUTOR: 'jupyter', DATATOOLS_JUPYTER_URL: 'http://127.0.0.1:8888/', DATATOOLS_JUPYTER_TOKEN: 'tok-1234', DATATOOLS_JUPYTER_KERNEL: 'python3' });
    assert.equal(c.executor, 'jupyter');
    assert.equal(c.jupyterUrl, 'http://127.0.0.1:8888/');
    assert.equal(c.jupyterToken, 'tok-1234');
    assert.equal(c.jupyterKernel, 'python3');
    assert.throws(() => configFromEnv({ DATATOOLS_EXECUTOR: 'jupyter' }), (e: unknown) => e instanceof ConfigError && /needs DATATOOLS_JUPYTER_URL/.test(e.message));
    assert.throws(() => configFromEnv({ DATATOOLS_EXECUTOR: 'jupyter', DATATOOLS_JUPYTER_URL: 'localhost:8888' }), /must be an http\(s\) URL/);
  });
});
