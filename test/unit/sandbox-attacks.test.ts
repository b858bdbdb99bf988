// Attacks on the sandbox from code an agent runs, over MCP with the real client SDK and the bundled server, once
// with the server running as root (as in devcontainers, CI and most cloud notebooks) and once as an unprivileged
// user. Each attack must be refused or harmless, judged from the host: no file outside the data roots created or
// changed, /proc/sys unchanged, nothing the sandbox wrote run on the host (a planted program leaves a marker in the
// host's /tmp when it runs there; the sandbox's own /tmp is private), nothing written where a planted link points.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { MCP_JS, tmpDir } from '../helpers/mcp';
import { defaultWorkDir } from '../../src/core/config';
import { DEFAULT_SANDBOX_HOST_UID } from '../../src/core/exec/local';

const isRoot = process.getuid?.() === 0;
const TEST_USER = 'dtwalls';
const SYSCTLS = ['kernel/core_pattern', 'vm/drop_caches', 'kernel/panic', 'fs/suid_dumpable'];
const WRITE_MB = 64;

function requireSandboxDeps(): void {
  if (!fs.existsSync('/usr/bin/bwrap')) throw new Error('bubblewrap is missing: apt-get install bubblewrap (bash .ci/setup does)');
}

interface Who { name: string; uid: number; gid: number; spawn: (env: Record<string, string>) => { command: string; args: string[]; env: Record<string, string> } }

function who(asUser: boolean): Who {
  if (!asUser) return { name: 'root', uid: 0, gid: 0, spawn: env => ({ command: process.execPath, args: [MCP_JS], env }) };
  if (spawnSync('id', [TEST_USER]).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER]);
  const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }));
  return { name: TEST_USER, uid, gid, spawn: env => ({ command: 'setpriv', args: [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', process.execPath, MCP_JS], env }) };
}

async function server(w: Who, env: Record<string, string>) {
  const transport = new StdioClientTransport({ ...w.spawn({ PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', ...env }), stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'datatools-attacks', version: '0.0.0' });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
    const content = r.content as { type: string; text?: string }[];
    return { text: content.filter(c => c.type === 'text').map(c => c.text).join('\n'), isError: r.isError === true, images: content.filter(c => c.type === 'image').length };
  };
  return { call, close: () => client.close(), stderr: () => err };
}

/** A world for one run: a data root (with a workspace venv selected as the interpreter in one attack), a folder
 *  outside the roots that links may point at, and a home for the server. */
function world(w: Who) {
  const base = tmpDir(`attacks-${w.name}`);
  fs.chmodSync(base, 0o755);
  const root = path.join(base, 'data');
  const outside = path.join(base, 'outside');
  const home = path.join(base, 'home');
  for (const d of [root, outside, home]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(root, 'orders.csv'), 'id,amount\n1,9.5\n2,3.25\n');
  // a real PNG outside the roots: a figure link that the host followed would bring it back
  fs.writeFileSync(path.join(outside, 'host.png'), Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'));
  if (w.uid) execFileSync('chown', ['-R', `${w.uid}:${w.gid}`, root, home, outside]);
  const marker = path.join('/tmp', `dt-ran-on-host-${process.pid}-${w.name}`);
  fs.rmSync(marker, { force: true });
  const env = { HOME: home, DATATOOLS_ALLOWED_PATHS: root, DATATOOLS_AUDIT_LOG: path.join(home, 'audit.jsonl') };
  return { base, root, outside, home, marker, env, work: defaultWorkDir([root], { XDG_CACHE_HOME: path.join(home, '.cache') }) };
}

/** Shell scripts that, if the host ever runs them, leave the marker in the host's /tmp. */
const planted = (marker: string) => `#!/bin/sh\necho "$0 $*" >> ${marker}\nexec /usr/bin/python3 "$@"\n`;

// vm/drop_caches is write-only: its write is refused in the sandbox, and there is no value to compare
const sysctls = () => Object.fromEntries(SYSCTLS.filter(s => s !== 'vm/drop_caches').map(s => [s, fs.readFileSync(`/proc/sys/${s}`, 'utf8')]));
const listing = (d: string) => (fs.existsSync(d) ? execFileSync('find', [d, '-printf', '%p %s %T@\\n'], { encoding: 'utf8' }) : '');

async function attacks(w: Who): Promise<void> {
  const x = world(w);
  const before = { sysctl: sysctls(), outside: listing(x.outside) };
  // 1. as a data engineer: writes allowed in the roots; every result spills to the host's work folder at once
  const s = await server(w, { ...x.env, DATATOOLS_ROLE: 'data_engineer', DATATOOLS_RESULT_MEMORY_MB: '0' });
  try {
    const probe = await s.call('execute_code', { code: `import os, ctypes, json
out = {"uid": os.getuid()}
for p in ${JSON.stringify(SYSCTLS)}:
    try:
        open("/proc/sys/" + p, "w").write("|/tmp/x" if "core" in p else "1")
        out[p] = "WRITTEN"
    except OSError as e: out[p] = e.strerror
for p in ("/etc/shadow", "/etc/gshadow"):
    try: open(p).read(); out[p] = "READ"
    except OSError as e: out[p] = e.strerror
libc = ctypes.CDLL(None, use_errno=True)
for name, flag in (("ADDR_NO_RANDOMIZE", 0x0040000), ("READ_IMPLIES_EXEC", 0x0400000), ("MMAP_PAGE_ZERO", 0x0100000)):
    ctypes.set_errno(0)
    r = libc.personality(ctypes.c_ulong(flag))
    out[name] = [r, ctypes.get_errno()]
# the host's work folder: its venv and saved results are read-only here, the rest is not mounted at all
work = ${JSON.stringify(x.work)}
for p in ("venv/bin/python", "results/planted.csv", ".results/planted", "packages/planted"):
    try:
        os.makedirs(os.path.dirname(os.path.join(work, p)), exist_ok=True)
        open(os.path.join(work, p), "w").write("#!/bin/sh\\n")
        out["work:" + p] = "WRITTEN"
    except OSError as e: out["work:" + p] = e.strerror
# the former places of the host's folders, inside the root: a planted interpreter and links out of the roots
os.makedirs(".datatools/venv/bin", exist_ok=True)
open(".datatools/venv/bin/python", "w").write(${JSON.stringify(planted(x.marker))})
os.chmod(".datatools/venv/bin/python", 0o755)
for d in ("results", ".results"):
    os.symlink(${JSON.stringify(x.outside)}, ".datatools/" + d)
open("mine.txt", "w").write("written by the sandbox")
print(json.dumps(out))` });
    assert.equal(probe.isError, false, probe.text);
    const r = JSON.parse(/\{"uid".*\}/.exec(probe.text)![0]) as Record<string, unknown>;
    assert.notEqual(r.uid, 0);
    // the host's view of a process of the sandbox: its uid is never 0 (as root, the dedicated uid)
    const tag = `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}`;
    await s.call('execute_code', { code: `import subprocess\nsubprocess.Popen(["sleep", "${tag}"])` });
    const hostUids = fs.readdirSync('/proc').filter(d => /^\d+$/.test(d)).flatMap(d => {
      try { return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8') === `sleep\0${tag}\0` ? [Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, 'utf8'))![1])] : []; } catch { return []; }
    });
    assert.deepEqual(hostUids, [w.uid === 0 ? DEFAULT_SANDBOX_HOST_UID : w.uid], `the sandbox's process as the host sees it (${w.name})`);
    for (const p of SYSCTLS) assert.match(String(r[p]), /Read-only file system|Permission denied/, `${p} (${w.name})`);
    for (const p of ['/etc/shadow', '/etc/gshadow']) assert.match(String(r[p]), /Permission denied/, `${p} (${w.name})`);
    for (const f of ['ADDR_NO_RANDOMIZE', 'READ_IMPLIES_EXEC', 'MMAP_PAGE_ZERO']) assert.deepEqual(r[f], [-1, 1], `personality ${f} refused (${w.name})`);
    // the venv and saved results are mounted read-only; the rest of the work folder is not there at all (a write
    // lands in the sandbox's own memory-backed root), and nothing reaches the host's
    for (const p of ['venv/bin/python', 'results/planted.csv']) assert.match(String(r[`work:${p}`]), /Read-only file system/, `the host's work folder: ${p} (${w.name})`);
    for (const p of ['venv/bin/python', 'results/planted.csv', '.results/planted', 'packages/planted']) {
      assert.equal(fs.existsSync(path.join(x.work, p)) && fs.readFileSync(path.join(x.work, p), 'utf8').startsWith('#!/bin/sh'), false, `${p} not planted on the host`);
    }
    // what the sandbox wrote in the root belongs to the root's owner on the host
    const st = fs.statSync(path.join(x.root, 'mine.txt'));
    assert.deepEqual([st.uid, st.gid], [w.uid, w.gid], `the sandbox's file is owned like the root (${w.name})`);

    // the host's own folders, used after the plants: save_as by name, a spill, a figure link, install_package
    const head = await s.call('read_csv', { file_path: path.join(x.root, 'orders.csv') });
    assert.equal(head.isError, false, head.text);
    const rid = /Result (r[0-9a-z]{6})/.exec(head.text)?.[1];
    assert.ok(rid, head.text);
    assert.equal((await s.call('get_result', { result_id: rid, save_as: 'orders.csv' })).isError, false);
    const again = await s.call('get_result', { result_id: rid, save_as: 'again.parquet' });
    assert.equal(again.isError, false, again.text);
    assert.ok(fs.existsSync(path.join(x.work, 'results', 'again.parquet')), `saved in the host's work folder: ${again.text}`);
    // code reads the saved result where the reply says it is
    const read = await s.call('execute_code', { code: `import pandas as pd\nprint(pd.read_csv(${JSON.stringify(path.join(x.work, 'results', 'orders.csv'))}).amount.sum())` });
    assert.match(read.text, /12\.75/, read.text);
    // run_script: a figure "left" as a link to a PNG outside the roots is not read by the host
    fs.writeFileSync(path.join(x.root, 'fig.py'), `import os, glob\nd = os.environ["DATATOOLS_FIGURE_DIR"]\nos.symlink(${JSON.stringify(path.join(x.outside, 'host.png'))}, os.path.join(d, "figure-0001.png"))\nprint("planted")\n`);
    if (w.uid) execFileSync('chown', [`${w.uid}:${w.gid}`, path.join(x.root, 'fig.py')]);
    const fig = await s.call('run_script', { script_path: path.join(x.root, 'fig.py') });
    assert.match(fig.text, /planted/, fig.text);
    assert.equal(fig.images, 0, 'a linked figure is not followed by the host');

  } finally {
    await s.close();
  }
  // filling the root, in a server of its own with a small limit: one file stops at the per-file cap, many files at
  // the per-run limit (the file system's own count: another program writing at the same time may trip it first, so
  // the single file accepts either wall, and must be stopped by one)
  const f = await server(w, { ...x.env, DATATOOLS_ROLE: 'data_engineer', DATATOOLS_SANDBOX_WRITE_MB: String(WRITE_MB) });
  try {
    const big = await f.call('execute_code', { code: `written = 0
try:
    with open("big.bin", "wb") as f:
        for _ in range(${WRITE_MB * 4}):
            f.write(b"\\0" * (1 << 20)); f.flush(); written += 1 << 20
finally:
    print("written", written)` });
    assert.match(big.text, /File too large[\s\S]*hit the size cap on one file|WriteLimitExceeded/, big.text);
    assert.ok(fs.statSync(path.join(x.root, 'big.bin')).size <= WRITE_MB * 1024 * 1024);
    fs.rmSync(path.join(x.root, 'big.bin'));
    const many = await f.call('execute_code', { code: `import os
for i in range(${WRITE_MB}):
    with open("fill-%d.bin" % i, "wb") as f:
        for _ in range(16):
            f.write(os.urandom(1 << 20)); f.flush(); os.fsync(f.fileno())` });
    assert.match(many.text, /WriteLimitExceeded/, many.text);
    assert.match(many.text, new RegExp(`wrote more than ${WRITE_MB} MB into the data roots`), many.text);
    const filled = fs.readdirSync(x.root).filter(n => n.startsWith('fill-')).reduce((n, g) => n + fs.statSync(path.join(x.root, g)).size, 0);
    assert.ok(filled < WRITE_MB * 16 * 1024 * 1024 / 2, `stopped long before the code's ${WRITE_MB * 16} MB (${filled} bytes written)`);
    for (const g of fs.readdirSync(x.root).filter(n => n.startsWith('fill-'))) fs.rmSync(path.join(x.root, g));
    const alive = await f.call('execute_code', { code: '6 * 7' });
    assert.match(alive.text, /42/, 'the session goes on after the write limit');
  } finally {
    await f.close();
  }
  // 2. a workspace venv selected as the interpreter, renamed and replaced by the sandbox (its parent is writable)
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', '--system-site-packages', path.join(x.root, '.venv')]);
  if (w.uid) execFileSync('chown', ['-R', `${w.uid}:${w.gid}`, path.join(x.root, '.venv')]);
  const venvPy = path.join(x.root, '.venv', 'bin', 'python');
  const s2 = await server(w, { ...x.env, DATATOOLS_ROLE: 'data_engineer', DATATOOLS_PYTHON: venvPy });
  try {
    const first = await s2.call('execute_code', { code: `import os, sys, site
print(sys.prefix)
os.rename(".venv", ".venv-moved")
os.makedirs(".venv/bin"); os.makedirs(".venv/lib/python3.11/site-packages")
open(".venv/pyvenv.cfg", "w").write("home = /usr/bin\\ninclude-system-site-packages = true\\n")
open(".venv/bin/python", "w").write(${JSON.stringify(planted(x.marker))})
os.chmod(".venv/bin/python", 0o755)
open(".venv/lib/python3.11/site-packages/evil.pth", "w").write("import os; open('${x.marker}', 'a').write('pth')\\n")
print("replaced")` });
    assert.match(first.text, /replaced/, first.text);
  } finally {
    await s2.close();
  }
  // the next session starts on the planted interpreter: it may run inside the sandbox, never on the host
  const s3 = await server(w, { ...x.env, DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_PYTHON: venvPy, PIP_NO_INDEX: '1' });
  try {
    const next = await s3.call('execute_code', { code: 'print("next session", 6 * 7)' });
    assert.match(next.text, /next session 42|Python sandbox could not start/, next.text);
    assert.equal(fs.existsSync(x.marker), false, `the planted interpreter ran on the host (${w.name}): ${fs.existsSync(x.marker) ? fs.readFileSync(x.marker, 'utf8') : ''}`);
    const env = await s3.call('get_environment', {});
    assert.match(env.text, /inside a data root, so it runs only in the sandbox/, env.text);
    // install_package runs pip of that interpreter: inside the sandbox too
    await s3.call('install_package', { packages: ['no-such-package-dt'] });
  } finally {
    await s3.close();
  }
  // the per-workspace venv (in the host's work folder) after the plants of its former place, then install_package
  const s4 = await server(w, { ...x.env, DATATOOLS_ROLE: 'ml_engineer', PIP_NO_INDEX: '1' });
  try {
    assert.match((await s4.call('execute_code', { code: 'import sys; print(sys.prefix)' })).text, new RegExp(`${x.work}/venv`));
    await s4.call('install_package', { packages: ['no-such-package-dt'] });
  } finally {
    await s4.close();
  }
  assert.equal(fs.existsSync(x.marker), false, `a program the sandbox wrote ran on the host (${w.name}): ${fs.existsSync(x.marker) ? fs.readFileSync(x.marker, 'utf8') : ''}`);
  assert.deepEqual(sysctls(), before.sysctl, '/proc/sys unchanged');
  assert.equal(listing(x.outside), before.outside, 'nothing written where the planted links point');
}

describe('attacks from sandboxed code, over MCP: refused or harmless, judged from the host', () => {
  test('the server as root', { skip: isRoot ? false : 'needs root (CI runs as root)' }, async () => {
    requireSandboxDeps();
    await attacks(who(false));
  });
  test('the server as an unprivileged user', { skip: isRoot ? false : 'needs root to start the server as a test user (CI runs as root)' }, async () => {
    requireSandboxDeps();
    await attacks(who(true));
  });
});
