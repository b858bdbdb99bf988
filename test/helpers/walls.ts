import * as fs from 'node:fs';
import { resolveConfig, type DataToolsConfig } from '../../src/core/config';
import { LocalSandbox } from '../../src/core/exec/local';
import { executionResult } from '../../src/core/tools/exec';

/** The sandbox-walls checks, run from inside execute_code by whoever runs this (root in-process, or a test user
 *  through test/helpers/walls-probe.ts). Returns what the sandbox said; test/unit/sandbox-walls.test.ts judges it. */

export interface WallsInput {
  root: string;
  auditLogPath: string;
  memoryMb: number;
  maxProcs: number;
  tmpMb: number;
  python?: string;
}

export interface WallsReport {
  uid: number;
  syscalls: Record<string, [number, number]>;
  status: Record<string, string>;
  writes: Record<string, string>;
  environment: Record<string, unknown>;
  forkBomb: { text: string; forked: number };
  afterForkBomb: string;
  memory: string;
  afterMemory: string;
  tmp: { text: string; written: number };
  marker: string;
  survivors: number;
  threads: string;
}

const SYSCALLS = `
import ctypes, json, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
def call(f, *a):
    ctypes.set_errno(0)
    r = f(*a)
    return [r, ctypes.get_errno()]
MS_REMOUNT, MS_BIND = 32, 4096
out = {}
out["mount_tmpfs"] = call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None)
out["remount_root_rw"] = call(libc.mount, None, ROOT.encode(), None, MS_REMOUNT | MS_BIND, None)
out["remount_usr_rw"] = call(libc.mount, None, b"/usr", None, MS_REMOUNT | MS_BIND, None)
out["unshare_user"] = call(libc.unshare, 0x10000000)
out["unshare_mount"] = call(libc.unshare, 0x00020000)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
out["ptrace_attach"] = call(libc.ptrace, 16, child, None, None)
os.kill(child, signal.SIGKILL)
os.waitpid(child, 0)
status = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"))}
writes = {}
for p in (ROOT + "/written-by-sandbox.txt", "/usr/written-by-sandbox.txt"):
    try:
        open(p, "w").write("x")
        writes[p] = "written"
    except OSError as e:
        writes[p] = f"{type(e).__name__}: {e.strerror}"
print(json.dumps({"uid": os.getuid(), "syscalls": out, "status": status, "writes": writes}))
`;

async function exec(sb: LocalSandbox, code: string, timeoutSec = 60): Promise<string> {
  const e = await sb.execute(code, { timeoutMs: timeoutSec * 1000, signal: new AbortController().signal });
  return executionResult(e).text;
}

export function survivors(marker: string): number {
  let n = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) n++; } catch { /* gone */ }
  }
  return n;
}

export async function runWallChecks(i: WallsInput): Promise<WallsReport> {
  const cfg: DataToolsConfig = resolveConfig({ role: 'data_scientist', allowedPaths: [i.root], auditLogPath: i.auditLogPath, limits: { memoryMb: i.memoryMb }, python: i.python, workDir: `${i.auditLogPath}.work` });
  const sb = new LocalSandbox(cfg, { maxProcs: i.maxProcs, tmpMb: i.tmpMb });
  try {
    const probe = await exec(sb, `ROOT = ${JSON.stringify(i.root)}\n${SYSCALLS}`);
    const line = /\{"uid".*\}/.exec(probe)?.[0];
    if (!line) throw new Error(`the probe printed no report: ${probe}`);
    const first = JSON.parse(line) as Pick<WallsReport, 'uid' | 'syscalls' | 'status' | 'writes'>;
    const environment = await sb.environment() as unknown as Record<string, unknown>;
    // a fork bomb, bounded by the test at 4x the limit; it cleans up after itself
    const bomb = `import os, time
pids = []
try:
    for _ in range(${i.maxProcs * 4}):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
finally:
    print("forked", len(pids))
    for p in pids: os.kill(p, 9)
    for p in pids: os.waitpid(p, 0)`;
    const forkText = await exec(sb, bomb);
    const forked = Number(/forked (\d+)/.exec(forkText)?.[1] ?? -1);
    const afterForkBomb = await exec(sb, 'after_fork = 6 * 7\nafter_fork');
    // thread pools (pandas, scikit-learn, BLAS) need many threads: an address-space limit breaks them, a cgroup does not
    const threads = await exec(sb, `import threading
ev = threading.Event()
ts = [threading.Thread(target=ev.wait) for _ in range(${Math.floor(i.maxProcs * 0.75)})]
n = 0
try:
    for t in ts:
        t.start()
        n += 1
finally:
    ev.set()
    for t in ts[:n]: t.join()
    print("threads", n)`);
    const memory = await exec(sb, "big = b'x' * (6 * 1024 ** 3)");
    const afterMemory = await exec(sb, '20 + 22');
    const tmpText = await exec(sb, `import os
written = 0
chunk = b"\\0" * (1 << 20)
try:
    with open("/tmp/fill.bin", "wb") as f:
        for _ in range(${i.tmpMb * 4}):
            f.write(chunk)
            f.flush()
            written += len(chunk)
finally:
    print("written", written)
    try: os.remove("/tmp/fill.bin")
    except OSError: pass`);
    const written = Number(/written (\d+)/.exec(tmpText)?.[1] ?? -1);
    const marker = `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}`;
    await exec(sb, `import subprocess\np = subprocess.Popen(["sleep", "${marker}"], start_new_session=True)\np.pid`);
    const before = survivors(marker);
    await sb.dispose();
    let left = before;
    for (let t = 0; t < 30 && left > 0; t++) { await new Promise(r => setTimeout(r, 100)); left = survivors(marker); }
    return { ...first, environment, forkBomb: { text: forkText, forked }, afterForkBomb, memory, afterMemory, tmp: { text: tmpText, written }, marker: `${marker}:${before}`, survivors: left, threads };
  } finally {
    await sb.dispose();
  }
}
