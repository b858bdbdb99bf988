import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ToolHost } from '../../src/core/host';
import { defaultWorkDir, configFromEnv, resolveConfig } from '../../src/core/config';
import { X86_64_DENIED, seccompFilter } from '../../src/core/exec/seccomp';
import { tmpDir } from '../helpers/mcp';
import { runWallChecks, type WallsInput, type WallsReport } from '../helpers/walls';

const TEST_USER = 'dtwalls';
const isRoot = process.getuid?.() === 0;

function requireSandboxDeps(): void {
  if (!fs.existsSync('/usr/bin/bwrap')) throw new Error('bubblewrap is missing: apt-get install bubblewrap (bash .ci/setup does)');
  try { execFileSync('/usr/bin/python3', ['-c', 'import IPython']); } catch {
    throw new Error('IPython is missing: apt-get install python3-ipykernel');
  }
}

/** What must hold whoever starts the sandbox. */
function judge(r: WallsReport, i: WallsInput, who: string): void {
  const m = `(${who})`;
  assert.notEqual(r.uid, 0, `the sandboxed code must not be uid 0 ${m}`);
  for (const [name, [ret, errno]] of Object.entries(r.syscalls)) {
    assert.deepEqual([ret, errno], [-1, 1], `${name} must fail with EPERM ${m}`);
  }
  assert.equal(r.status.CapEff, '0000000000000000', `CapEff ${m}`);
  assert.equal(r.status.CapPrm, '0000000000000000', `CapPrm ${m}`);
  assert.equal(r.status.CapBnd, '0000000000000000', `CapBnd ${m}`);
  assert.equal(r.status.NoNewPrivs, '1', `no_new_privs ${m}`);
  if (os.arch() === 'x64') assert.equal(r.status.Seccomp, '2', `a seccomp filter is active ${m}`);
  for (const [p, outcome] of Object.entries(r.writes)) {
    assert.match(outcome, /Read-only file system/, `${p} must not be writable ${m}`);
    assert.equal(fs.existsSync(p), false, `${p} must not exist on the host ${m}`);
  }
  const walls = r.environment.walls as Record<string, string>;
  assert.match(walls.memory, new RegExp(`^${i.memoryMb} MB .*(cgroup|RLIMIT_AS)`), m);
  assert.match(walls.tmp, new RegExp(`^${i.tmpMb} MB`), m);
  // the fork bomb stops at the process limit, is reported as such, and the session goes on
  assert.ok(r.forkBomb.forked > 0 && r.forkBomb.forked <= i.maxProcs, `forked ${r.forkBomb.forked} of at most ${i.maxProcs} ${m}: ${r.forkBomb.text}`);
  assert.match(r.forkBomb.text, /the sandbox hit the process limit/, m);
  assert.match(r.afterForkBomb, /\[Out \d+\] 42/, `the session recovers after the fork bomb ${m}`);
  if (/^\d+ MB \(cgroup/.test(walls.memory)) {
    assert.ok(r.threads.includes(`threads ${Math.floor(i.maxProcs * 0.75)}`), `a cgroup memory limit lets thread pools start ${m}: ${r.threads}`);
  }
  // 6 GB fail at the memory limit with a message that says so; the next call works
  assert.match(r.memory, new RegExp(`memory limit(?: of |: )${i.memoryMb} MB`), `${m} ${r.memory}`);
  assert.doesNotMatch(r.memory, /SandboxCrash/, m);
  assert.match(r.afterMemory, /\[Out \d+\] 42/, `the session works after the memory limit ${m}`);
  // /tmp stops at its cap
  const cap = i.tmpMb * 1024 * 1024;
  assert.ok(r.tmp.written > cap / 2 && r.tmp.written <= cap, `wrote ${r.tmp.written} bytes into /tmp capped at ${cap} ${m}`);
  assert.match(r.tmp.text, /the sandbox hit a size cap/, m);
  // a process in a session of its own was running, and is gone when the sandbox closes
  assert.match(r.marker, /:[1-9]\d*$/, `the detached process ran ${m}`);
  assert.equal(r.survivors, 0, `the detached process is gone after close ${m}`);
}

function inputFor(owner?: string): WallsInput {
  const base = tmpDir('walls');
  const root = path.join(base, 'data');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'orders.csv'), 'id\n1\n');
  const state = path.join(base, 'state');
  fs.mkdirSync(state);
  if (owner) {
    fs.chmodSync(base, 0o755);
    execFileSync('chown', ['-R', `${owner}:${owner}`, state]);
  }
  return { root, auditLogPath: path.join(state, 'audit.jsonl'), memoryMb: 512, maxProcs: 64, tmpMb: 64 };
}

describe('sandbox walls hold whoever starts the sandbox', () => {
  test('as root: no capabilities, no mounts, limits enforced, /tmp capped, detached processes gone', { skip: isRoot ? false : 'needs root (CI runs as root)' }, async () => {
    requireSandboxDeps();
    const i = inputFor();
    const r = await runWallChecks(i);
    judge(r, i, 'root');
  });

  test('as an unprivileged user (setpriv to a test user)', async (t) => {
    requireSandboxDeps();
    if (isRoot) {
      if (spawnSync('id', [TEST_USER]).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER]);
      const i = inputFor(TEST_USER);
      const probe = path.resolve(__dirname, '..', 'helpers', 'walls-probe.js');
      const p = spawnSync('setpriv', [`--reuid=${TEST_USER}`, `--regid=${TEST_USER}`, '--init-groups', process.execPath, probe, JSON.stringify(i)],
        { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/tmp', LANG: 'C.UTF-8' }, timeout: 300_000 });
      assert.equal(p.status, 0, `the probe failed: ${p.stderr}`);
      const r = JSON.parse(p.stdout.trim().split('\n').pop()!) as WallsReport;
      judge(r, i, TEST_USER);
    } else {
      t.diagnostic('not root: the checks run as the current user');
      const i = inputFor();
      judge(await runWallChecks(i), i, os.userInfo().username);
    }
  });
});

describe('the seccomp program', () => {
  test('x86_64 numbers match the kernel headers', (t) => {
    const h = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
    if (!fs.existsSync(h)) { t.skip('kernel headers are not installed (linux-libc-dev)'); return; }
    const text = fs.readFileSync(h, 'utf8');
    for (const [name, nr] of Object.entries(X86_64_DENIED)) {
      const m = new RegExp(`#define __NR_${name} (\\d+)`).exec(text);
      assert.ok(m, `${name} is in ${h}`);
      assert.equal(Number(m[1]), nr, name);
    }
  });

  test('other architectures get no filter and a reason', () => {
    const f = seccompFilter('arm64');
    assert.equal(f.program, undefined);
    assert.match(f.description, /no seccomp filter: .*arm64/);
    const x = seccompFilter('x64');
    assert.ok(x.program && x.program.length % 8 === 0);
  });
});

describe('the user\'s Python and the working directory', () => {
  const hosts: ToolHost[] = [];
  after(async () => { for (const h of hosts) await h.dispose(); });

  test('a venv with a package the test builds: the sandbox imports it when the venv is the selected interpreter', async () => {
    requireSandboxDeps();
    const base = tmpDir('venv');
    const venv = path.join(base, 'env');
    execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', '--system-site-packages', venv]);
    const py = path.join(venv, 'bin', 'python');
    const site = execFileSync(py, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
    const token = `built-by-test-${process.pid}-${Date.now()}`;
    fs.mkdirSync(path.join(site, 'dt_venv_probe'));
    fs.writeFileSync(path.join(site, 'dt_venv_probe', '__init__.py'), `VALUE = ${JSON.stringify(token)}\n`);
    const root = tmpDir('venv-root');
    const host = new ToolHost(resolveConfig({ role: 'data_scientist', allowedPaths: [root], auditLogPath: path.join(base, 'audit.jsonl'), python: py, pythonSource: 'selected in the test' }));
    hosts.push(host);
    const r = await host.call('execute_code', { code: 'import sys, dt_venv_probe\nprint(sys.prefix)\ndt_venv_probe.VALUE' }, { caller: 'test' });
    assert.equal(r.isError, false, r.text);
    assert.ok(r.text.includes(token), r.text);
    assert.ok(r.text.includes(venv), `sys.prefix is the venv: ${r.text}`);
    const env = await host.call('get_environment', {}, { caller: 'test' });
    assert.ok(env.text.includes(`${venv}/bin/python (selected in the test, virtual environment at ${venv})`), env.text);
    assert.doesNotMatch(env.text, /IPython is not installed/);
  });

  test('install_package with the user\'s venv selected: into a workspace folder on PYTHONPATH, the venv itself untouched', async () => {
    requireSandboxDeps();
    const base = tmpDir('venv-install');
    const venv = path.join(base, 'env');
    execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', '--system-site-packages', venv]);
    const wheels = path.join(base, 'wheels');
    fs.mkdirSync(wheels);
    // a real wheel, built here with the standard library
    execFileSync('/usr/bin/python3', ['-c', `
import base64, hashlib, sys, zipfile
out = sys.argv[1] + '/dtoverlay-0.2.0-py3-none-any.whl'
files = {
  'dtoverlay/__init__.py': 'def hello():\\n    return "hello from the overlay"\\n',
  'dtoverlay-0.2.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: dtoverlay\\nVersion: 0.2.0\\n',
  'dtoverlay-0.2.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
def h(d): return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()
record = ''.join(f'{n},{h(c)},{len(c.encode())}\\n' for n, c in files.items()) + 'dtoverlay-0.2.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(out, 'w') as z:
    for n, c in files.items(): z.writestr(n, c)
    z.writestr('dtoverlay-0.2.0.dist-info/RECORD', record)
`, wheels]);
    const listing = () => execFileSync('find', [venv, '-newer', path.join(venv, 'pyvenv.cfg')], { encoding: 'utf8' });
    const before = listing();
    const root = tmpDir('venv-install-root');
    const host = new ToolHost(resolveConfig({ role: 'ml_engineer', allowedPaths: [root], auditLogPath: path.join(base, 'audit.jsonl'), python: path.join(venv, 'bin', 'python') }));
    hosts.push(host);
    process.env.PIP_NO_INDEX = '1';
    process.env.PIP_FIND_LINKS = wheels;
    try {
      assert.match((await host.call('execute_code', { code: 'import importlib.util; print(importlib.util.find_spec("dtoverlay") is None)' }, { caller: 'test' })).text, /True/);
      const r = await host.call('install_package', { packages: ['dtoverlay==0.2.0'] }, { caller: 'test' });
      assert.notEqual(r.isError, true, r.text);
      const after = await host.call('execute_code', { code: 'import dtoverlay, sys\nprint(dtoverlay.hello(), dtoverlay.__file__)\nprint(sys.prefix)' }, { caller: 'test' });
      assert.ok(after.text.includes(`hello from the overlay ${path.join(defaultWorkDir([root]), 'packages')}`), after.text);
      assert.ok(after.text.includes(venv), `still the user's venv: ${after.text}`);
      assert.equal(listing(), before, 'nothing was written into the user\'s venv');
    } finally {
      delete process.env.PIP_NO_INDEX;
      delete process.env.PIP_FIND_LINKS;
    }
  });

  test('an interpreter without IPython: get_environment says what to install there', async () => {
    requireSandboxDeps();
    const base = tmpDir('bare');
    const venv = path.join(base, 'env');
    execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', venv]);
    const host = new ToolHost(resolveConfig({ role: 'data_scientist', allowedPaths: [tmpDir('bare-root')], auditLogPath: path.join(base, 'audit.jsonl'), python: path.join(venv, 'bin', 'python') }));
    hosts.push(host);
    const r = await host.call('execute_code', { code: '6 * 7' }, { caller: 'test' });
    assert.match(r.text, /42/);
    assert.ok(r.text.includes(`[note] IPython is not installed in ${venv}/bin/python`), `the first result says what is missing: ${r.text}`);
    const again = await host.call('execute_code', { code: '6 * 7' }, { caller: 'test' });
    assert.doesNotMatch(again.text, /\[note\]/, 'said once');
    const env = await host.call('get_environment', {}, { caller: 'test' });
    assert.ok(env.text.includes(`IPython is not installed in ${venv}/bin/python`), env.text);
    assert.ok(env.text.includes(`${venv}/bin/python -m pip install ipykernel`), env.text);
  });

  test('DATATOOLS_PYTHON and DATATOOLS_WORKSPACE reach the configuration', () => {
    const c = configFromEnv({ DATATOOLS_PYTHON: '/opt/x/bin/python', DATATOOLS_WORKSPACE: '/w/s', DATATOOLS_ALLOWED_PATHS: '/w' });
    assert.equal(c.python, '/opt/x/bin/python');
    assert.equal(c.pythonSource, 'DATATOOLS_PYTHON');
    assert.equal(c.workspaceDir, '/w/s');
  });

  test('execute_code runs in the workspace folder and run_script in the script\'s folder: relative paths work', async () => {
    requireSandboxDeps();
    const root = tmpDir('cwd-root');
    const ws = path.join(root, 'project');
    fs.mkdirSync(path.join(ws, 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'data', 'orders.csv'), 'id,amount\n1,9.5\n2,3.25\n');
    fs.mkdirSync(path.join(ws, 'scripts', 'data'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'scripts', 'data', 'orders.csv'), 'id,amount\n7,1\n');
    fs.writeFileSync(path.join(ws, 'scripts', 'helper.py'), 'NAME = "helper next to the script"\n');
    fs.writeFileSync(path.join(ws, 'scripts', 'report.py'), 'import os, pandas as pd, helper\nprint(os.getcwd())\nprint(helper.NAME)\nprint(pd.read_csv("data/orders.csv").id.tolist())\n');
    const host = new ToolHost(resolveConfig({ role: 'data_engineer', allowedPaths: [root], workspaceDir: ws, auditLogPath: path.join(root, '..', `${path.basename(root)}-audit.jsonl`) }));
    hosts.push(host);
    const r = await host.call('execute_code', { code: "import os, pandas as pd\nprint(os.getcwd())\npd.read_csv('data/orders.csv').amount.sum()" }, { caller: 'test' });
    assert.equal(r.isError, false, r.text);
    assert.ok(r.text.includes(`[stdout]\n${ws}\n`), r.text);
    assert.match(r.text, /\[Out \d+\] 12\.75/);
    const s = await host.call('run_script', { script_path: path.join(ws, 'scripts', 'report.py') }, { caller: 'test' });
    assert.equal(s.isError, false, s.text);
    assert.ok(s.text.includes(`${path.join(ws, 'scripts')}\nhelper next to the script\n[7]`), s.text);
    const env = await host.call('get_environment', {}, { caller: 'test' });
    assert.ok(env.text.includes(`Working directory (relative paths start here): ${ws}.`), env.text);
  });
});
