import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ToolHost } from '../../src/core/host';
import { defaultWorkDir, resolveConfig } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';

function requireSandboxDeps(): void {
  if (!fs.existsSync('/usr/bin/bwrap')) throw new Error('bubblewrap is missing: apt-get install bubblewrap (bash .ci/setup does)');
  try { execFileSync('/usr/bin/python3', ['-c', 'import pandas, matplotlib, IPython']); } catch {
    throw new Error('the Python data stack is missing: apt-get install python3-pandas python3-matplotlib python3-ipykernel');
  }
}

describe('the local Python sandbox (real Python in bubblewrap)', () => {
  const root = tmpDir('py-root');
  const outside = tmpDir('py-outside');
  let host: ToolHost;
  let listener: net.Server;
  let port = 0;
  const run = async (code: string, timeout?: number) => host.call('execute_code', { code, timeout }, { caller: 'test' });

  before(async () => {
    requireSandboxDeps();
    fs.writeFileSync(path.join(root, 'data.csv'), 'a,b\n1,2\n3,4\n');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret');
    process.env.DT_HOST_SECRET = 'host-secret-value';
    listener = net.createServer(s => s.end('hello')).listen(0, '127.0.0.1');
    await new Promise(r => listener.once('listening', r));
    port = (listener.address() as net.AddressInfo).port;
    host = new ToolHost(resolveConfig({ role: 'ml_engineer', allowedPaths: [root], auditLogPath: path.join(root, '..', `${path.basename(root)}-audit.jsonl`), limits: { memoryMb: 768 } }));
  });
  after(async () => { await host?.dispose(); listener?.close(); });

  test('state survives between calls; the last expression is the result', async () => {
    const a = await run('x = 40\nimport pandas as pd');
    assert.equal(a.isError, false, a.text);
    const b = await run('x + 2');
    assert.match(b.text, /\[Out \d+\] 42/);
  });

  test('a DataFrame comes back as a table, a figure as a PNG part', async () => {
    const df = await run(`df = pd.read_csv('${root}/data.csv')\ndf`);
    assert.equal(df.isError, false, df.text);
    assert.match(df.text, /\[table\] 2 rows × 2 columns\ncolumns: a int64, b int64\na \| b\n1 \| 2\n3 \| 4/);
    const fig = await run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("t")');
    const png = fig.parts.find(p => p.kind === 'image');
    assert.ok(png && png.kind === 'image' && png.mimeType === 'image/png', fig.text);
    assert.equal(Buffer.from(png.data, 'base64').subarray(1, 4).toString(), 'PNG');
    assert.match(fig.text, /\[image\] PNG figure #1/);
  });

  test('a syntax error comes back as an error with a traceback', async () => {
    const r = await run('def f(:\n  pass');
    assert.equal(r.isError, true);
    assert.match(r.text, /\[error\] SyntaxError/);
    assert.match(r.text, /def f\(:/);
    const z = await run('1/0');
    assert.match(z.text, /ZeroDivisionError: division by zero\n[\s\S]*Traceback|ZeroDivisionError/);
  });

  test('an endless loop is interrupted at its timeout and the session keeps its state, as Jupyter does', async () => {
    await run('kept = 41');
    const r = await run('while True:\n  pass', 2);
    assert.equal(r.isError, true);
    assert.match(r.text, /TimeoutError: Execution stopped after its 2 s timeout; the kernel was interrupted and its state is kept/);
    assert.doesNotMatch(r.text, /session restarted/);
    const next = await run('kept + 1');
    assert.match(next.text, /\[Out \d+\] 42/, 'the variables from before are still defined');
  });

  test('a cell that ignores the interrupt is ended after the grace period, and the state loss is reported', async () => {
    await run('x = 1');
    const r = await run('import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n  time.sleep(0.1)', 2);
    assert.equal(r.isError, true);
    assert.match(r.text, /TimeoutError: Execution stopped after its 2 s timeout; the code did not stop on interrupt within 5 s/);
    assert.match(r.text, /session restarted: timeout/);
    const next = await run('y = 1\ny + 1');
    assert.match(next.text, /\[Out \d+\] 2/);
    const gone = await run('x');
    assert.match(gone.text, /NameError/, 'the old state is gone, as reported');
  });

  test('a cancel interrupts the running cell and keeps the state; a cancel the code ignores restarts it and the next reply says so', async () => {
    await run('before = "still here"');
    const ac = new AbortController();
    const call = host.call('execute_code', { code: 'import time\nfor i in range(600):\n  time.sleep(0.1)' }, { caller: 'test', signal: ac.signal });
    setTimeout(() => ac.abort(), 1500);
    const r = await call;
    assert.equal(r.outcome, 'cancelled');
    assert.match(r.text, /Execution was cancelled; the kernel was interrupted and its state is kept/);
    assert.match((await run('before')).text, /still here/);
    const ac2 = new AbortController();
    const stubborn = host.call('execute_code', { code: 'import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n  time.sleep(0.1)' }, { caller: 'test', signal: ac2.signal });
    setTimeout(() => ac2.abort(), 1500);
    const r2 = await stubborn;
    assert.equal(r2.outcome, 'cancelled');
    const after = await run('print("fresh")');
    assert.match(after.text, /previous execute_code was cancelled and the code did not stop on interrupt/);
    assert.match(after.text, /fresh/);
  });

  test('a call cancelled while its kernel starts runs nothing', async () => {
    await run('import os\nos._exit(0)'); // the next call starts a new kernel (about a second)
    const ac = new AbortController();
    const call = host.call('execute_code', { code: 'never_set = 1' }, { caller: 'test', signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const r = await call;
    assert.equal(r.outcome, 'cancelled');
    assert.match(r.text, /before the code started; nothing ran/);
    assert.match((await run('never_set')).text, /NameError/, 'the cancelled code did not run');
  });

  test('a large allocation is stopped at the memory limit and the next call works', async () => {
    const r = await run('big = bytearray(4 * 1024 ** 3)');
    assert.equal(r.isError, true);
    assert.match(r.text, /memory limit(?: of |: )768 MB/, 'the limit hit is named, not reported as a crash');
    const next = await run('1 + 1');
    assert.match(next.text, /\[Out \d+\] 2/);
  });

  test('the sandbox has no network, cannot read outside its roots, sees no host secrets, cannot write the host /tmp', async () => {
    const net1 = await run(`import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${port}), timeout=3).recv(5)\n    print("CONNECTED")\nexcept OSError as e:\n    print("blocked", type(e).__name__)`);
    assert.match(net1.text, /blocked/);
    assert.doesNotMatch(net1.text, /CONNECTED/);
    const read = await run(`import os\nprint(os.path.exists(${JSON.stringify(path.join(outside, 'secret.txt'))}), os.path.exists('/work'), os.path.exists(${JSON.stringify(process.cwd())}))\nprint(sorted(os.path.join(d, f) for d, _, fs in os.walk('/root') for f in fs))`);
    assert.match(read.text, /False False False/);
    // of the host's /root (the home when the tests run as root) only the host's work folder for these roots is
    // there (its venv and saved results, mounted read-only), nothing else of the home
    const files = JSON.parse(/\[.*\]/.exec(read.text.split('\n').slice(-2).join('\n'))![0].replace(/'/g, '"')) as string[];
    const work = defaultWorkDir([root]);
    assert.deepEqual(files.filter(f => !f.startsWith(`${work}/`)), [], read.text);
    const env = await run('import os\nprint(sorted(k for k in os.environ if "SECRET" in k or "KEY" in k or "AWS" in k), os.environ.get("DT_HOST_SECRET"))');
    assert.match(env.text, /\[\] None/);
    const marker = `/tmp/dt-escape-${process.pid}.txt`;
    const w = await run(`open(${JSON.stringify(marker)}, "w").write("x")\nprint("wrote inside")`);
    assert.match(w.text, /wrote inside/);
    assert.ok(!fs.existsSync(marker), 'the write stayed in the sandbox\'s private /tmp');
    const data = await run(`print(open(${JSON.stringify(path.join(root, 'data.csv'))}).read().splitlines()[0])`);
    assert.match(data.text, /a,b/);
  });

  test('a huge print is truncated quickly and reported', async () => {
    const r = await run('print("x" * 30_000_000)');
    assert.match(r.text, /\[output cut at 1 MB \(stdout and stderr together\): [\d.]+ MB more not shown \([\d,]+ bytes\)/);
    assert.ok(r.text.length < 12_000);
  });

  test('processes started in the sandbox are gone after close', async () => {
    const r = await run('import subprocess\nsubprocess.Popen(["sleep", "987"])\nprint("started")');
    assert.match(r.text, /started/);
    const alive = () => { try { return execFileSync('pgrep', ['-f', 'sleep 987'], { encoding: 'utf8' }).trim(); } catch { return ''; } };
    assert.notEqual(alive(), '', 'the child runs while the session is open');
    await host.services.reset('exec:local');
    for (let i = 0; i < 50 && alive(); i++) await new Promise(res => setTimeout(res, 100));
    assert.equal(alive(), '');
  });

  test('get_environment describes backend, isolation, Python, packages and limits', async () => {
    const r = await host.call('get_environment', {}, { caller: 'test' });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /Backend: local; isolation: bubblewrap/);
    assert.match(r.text, /pandas \d/);
    assert.match(r.text, /768 MB memory/);
  });

  test('run_script runs a file inside a root with arguments; paths outside are refused', async () => {
    const de = new ToolHost(resolveConfig({ role: 'data_engineer', allowedPaths: [root], auditLogPath: path.join(root, '..', 'de-audit.jsonl') }));
    try {
      fs.writeFileSync(path.join(root, 'job.py'), 'import sys\nprint("args", sys.argv[1:])\nsys.exit(3)\n');
      const r = await de.call('run_script', { script_path: path.join(root, 'job.py'), args: ['--n', '5'] }, { caller: 'test' });
      assert.match(r.text, /exit code 3/);
      assert.match(r.text, /args \['--n', '5'\]/);
      fs.writeFileSync(path.join(outside, 'evil.py'), 'print(1)');
      const bad = await de.call('run_script', { script_path: path.join(outside, 'evil.py') }, { caller: 'test' });
      assert.equal(bad.isError, true);
      assert.match(bad.text, /outside the allowed roots/);
    } finally { await de.dispose(); }
  });

  test('install_package installs a wheel the test builds, offline (--no-index --find-links), into the per-workspace venv', async () => {
    // a real wheel, built here with the standard library: a package dtwheel 0.1.0 with one function
    const wheels = tmpDir('wheels');
    execFileSync('/usr/bin/python3', ['-c', `
import base64, hashlib, sys, zipfile
out = sys.argv[1] + '/dtwheel-0.1.0-py3-none-any.whl'
files = {
  'dtwheel/__init__.py': 'def hello():\\n    return "hello from a wheel"\\n',
  'dtwheel-0.1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: dtwheel\\nVersion: 0.1.0\\n',
  'dtwheel-0.1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
def h(d): return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()
record = ''.join(f'{n},{h(c)},{len(c.encode())}\\n' for n, c in files.items()) + 'dtwheel-0.1.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(out, 'w') as z:
    for n, c in files.items(): z.writestr(n, c)
    z.writestr('dtwheel-0.1.0.dist-info/RECORD', record)
`, wheels]);
    process.env.PIP_NO_INDEX = '1';
    process.env.PIP_FIND_LINKS = wheels;
    try {
      const before = await run('import importlib.util; print(importlib.util.find_spec("dtwheel") is None)');
      assert.match(before.text, /True/);
      const r = await host.call('install_package', { packages: ['dtwheel==0.1.0'] }, { caller: 'test' });
      assert.notEqual(r.isError, true, r.text);
      assert.match(r.text, /Installed dtwheel-0\.1\.0; importable now in this session/);
      // the running session imports it at once, from the venv (not the system site-packages)
      const after = await run('import dtwheel, sys\nprint(dtwheel.hello(), dtwheel.__file__.startswith(sys.prefix), sys.prefix != sys.base_prefix)');
      assert.match(after.text, /hello from a wheel True True/);
      const venv = path.join(defaultWorkDir([root]), 'venv');
      assert.ok(fs.readdirSync(path.join(venv, 'lib')).length, `installed into ${venv}`);
      // pandas still comes from the system through --system-site-packages
      assert.match((await run('import pandas; print(pandas.__version__)')).text, /\d+\.\d+/);
      const missing = await host.call('install_package', { packages: ['no-such-package-dt'] }, { caller: 'test' });
      assert.equal(missing.isError, true);
      assert.match(missing.text, /pip install no-such-package-dt failed[\s\S]*No matching distribution[\s\S]*index may be unreachable/);
      const bad = await host.call('install_package', { packages: ['--index-url=http://evil'] }, { caller: 'test' });
      assert.match(bad.text, /must be a pip requirement/);
    } finally {
      delete process.env.PIP_NO_INDEX;
      delete process.env.PIP_FIND_LINKS;
    }
  });
});
