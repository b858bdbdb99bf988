import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Memory and process limits of one sandbox session, enforced by the strongest means this host allows:
 *  1. a cgroup created directly in cgroupfs (root; cgroup v2 with delegated memory+pids controllers, or the v1
 *     memory and pids hierarchies), 2. a transient systemd scope (`systemd-run [--user] --scope`),
 *  3. rlimits inside the sandbox: RLIMIT_AS for memory (breaks thread-heavy code at low limits), and for
 *     non-root only RLIMIT_NPROC, which counts every process of the user; for root there is no process limit then. */

export interface SessionLimits {
  memoryMb: number;
  maxProcs: number;
  /** The host uid the sandbox's processes run as (a root host runs them as an unprivileged uid); default ours. */
  processUid?: number;
}

export interface LimitPlan {
  /** How memory and the process count are enforced, for get_environment. */
  memory: string;
  processes: string;
  /** True when the memory limit kills the process (cgroup OOM) rather than failing allocations (RLIMIT_AS). */
  memoryByCgroup: boolean;
  processesLimited: boolean;
  /** The command to spawn instead of `cmd args`. */
  wrap(cmd: string, args: string[]): { cmd: string; args: string[] };
  /** Environment for kernel.py: the rlimits to set inside the sandbox (fallback only). */
  env: Record<string, string>;
  /** Environment of the spawned wrapper (outside the sandbox). */
  spawnEnv: Record<string, string>;
  /** Called with the pid of the spawned process (systemd scopes: finds the cgroup to watch). */
  started(pid: number): void;
  /** Number of OOM kills in this session's cgroup so far (undefined: unknown). */
  oomKills(): number | undefined;
  /** Kills every process left in the session's cgroup and removes it. */
  release(): void;
}

interface CgroupMounts { v2?: string; v1: Map<string, string> }

function readMounts(): CgroupMounts {
  const out: CgroupMounts = { v1: new Map() };
  let text = '';
  try { text = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const f = pre.split(' ');
    const [fstype, , opts] = post.split(' ');
    const root = f[3];
    const mnt = f[4];
    if (root !== '/') continue; // a bind of a sub-tree: paths from /proc/self/cgroup would not match
    if (fstype === 'cgroup2' && !out.v2) out.v2 = mnt;
    if (fstype === 'cgroup') for (const c of (opts ?? '').split(',')) if (c === 'memory' || c === 'pids') out.v1.set(c, mnt);
  }
  return out;
}

/** The cgroup paths of this process: '' key = v2, otherwise by v1 controller. */
function ownCgroups(pid: number | 'self' = 'self'): Map<string, string> {
  const m = new Map<string, string>();
  let text = '';
  try { text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'); } catch { return m; }
  for (const line of text.trim().split('\n')) {
    const [, ctrls, p] = line.split(/:(.*?):/);
    if (ctrls === undefined || p === undefined) continue;
    if (ctrls === '') m.set('', p);
    for (const c of ctrls.split(',')) if (c) m.set(c, p);
  }
  return m;
}

const write = (file: string, value: string) => fs.writeFileSync(file, value);
const read = (file: string) => { try { return fs.readFileSync(file, 'utf8'); } catch { return undefined; } };

function oomFrom(text: string | undefined): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

function killAndRemove(dirs: string[]): void {
  for (const d of dirs) {
    if (fs.existsSync(path.join(d, 'cgroup.kill'))) { try { write(path.join(d, 'cgroup.kill'), '1'); } catch { /* older kernel */ } }
  }
  for (let round = 0; round < 50; round++) {
    let left = 0;
    for (const d of dirs) {
      for (const pid of (read(path.join(d, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
        left++;
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
    }
    if (!left) break;
    spawnSync('sleep', ['0.02']);
  }
  for (const d of dirs) { try { fs.rmdirSync(d); } catch { /* busy a moment longer, or gone */ } }
}

let seq = 0;
/** The shell joins the cgroup(s) named in DT_CGROUP_PROCS first, then becomes the sandbox: nothing runs
 *  outside the limits. */
const wrapper = (_files: string[]) => (cmd: string, args: string[]) => ({
  cmd: '/bin/sh',
  args: ['-c', 'for f in $DT_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; unset DT_CGROUP_PROCS; exec "$@"', 'sh', cmd, ...args],
});

/** Root: a child cgroup of our own, in cgroup v2 or in the v1 memory and pids hierarchies. */
function cgroupfsPlan(l: SessionLimits): LimitPlan | { reason: string } {
  const mounts = readMounts();
  const own = ownCgroups();
  const name = `datatools-${process.pid}-${++seq}`;
  const bytes = String(l.memoryMb * 1024 * 1024);
  // cgroup v2 with both controllers delegated to our cgroup
  if (mounts.v2 && own.has('')) {
    const parent = path.join(mounts.v2, own.get('')!);
    const have = (read(path.join(parent, 'cgroup.controllers')) ?? '').split(/\s+/);
    if (have.includes('memory') && have.includes('pids')) {
      let sub = (read(path.join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      if (!sub.includes('memory') || !sub.includes('pids')) {
        try { write(path.join(parent, 'cgroup.subtree_control'), '+memory +pids'); } catch { /* processes in this cgroup: not delegable */ }
        sub = (read(path.join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      }
      if (sub.includes('memory') && sub.includes('pids')) {
        const dir = path.join(parent, name);
        try {
          fs.mkdirSync(dir);
          write(path.join(dir, 'memory.max'), bytes);
          if (fs.existsSync(path.join(dir, 'memory.swap.max'))) write(path.join(dir, 'memory.swap.max'), '0');
          write(path.join(dir, 'pids.max'), String(l.maxProcs));
          const w = wrapper([path.join(dir, 'cgroup.procs')]);
          return {
            memory: `${l.memoryMb} MB (cgroup v2 memory.max, ${dir})`, processes: `${l.maxProcs} processes and threads (cgroup v2 pids.max)`,
            memoryByCgroup: true, processesLimited: true,
            wrap: (c, a) => w(c, a), env: {}, spawnEnv: { DT_CGROUP_PROCS: path.join(dir, 'cgroup.procs') }, started: () => undefined,
            oomKills: () => oomFrom(read(path.join(dir, 'memory.events'))), release: () => killAndRemove([dir]),
          };
        } catch (e) { try { fs.rmdirSync(dir); } catch { /* not made */ } void e; }
      }
    }
  }
  // cgroup v1: the memory and pids hierarchies, each mounted on its own
  const mem = mounts.v1.get('memory');
  const pids = mounts.v1.get('pids');
  if (mem && pids && own.has('memory') && own.has('pids')) {
    const mdir = path.join(mem, own.get('memory')!, name);
    const pdir = path.join(pids, own.get('pids')!, name);
    try {
      fs.mkdirSync(mdir);
      fs.mkdirSync(pdir);
      write(path.join(mdir, 'memory.limit_in_bytes'), bytes);
      // with swap accounting, swap counts too (must be set after limit_in_bytes)
      if (fs.existsSync(path.join(mdir, 'memory.memsw.limit_in_bytes'))) { try { write(path.join(mdir, 'memory.memsw.limit_in_bytes'), bytes); } catch { /* no swap accounting */ } }
      write(path.join(pdir, 'pids.max'), String(l.maxProcs));
      const files = [path.join(mdir, 'cgroup.procs'), path.join(pdir, 'cgroup.procs')];
      const w = wrapper(files);
      return {
        memory: `${l.memoryMb} MB (cgroup v1 memory.limit_in_bytes)`, processes: `${l.maxProcs} processes and threads (cgroup v1 pids.max)`,
        memoryByCgroup: true, processesLimited: true,
        wrap: (c, a) => w(c, a), env: {}, spawnEnv: { DT_CGROUP_PROCS: files.join(' ') }, started: () => undefined,
        oomKills: () => oomFrom(read(path.join(mdir, 'memory.oom_control'))), release: () => killAndRemove([mdir, pdir]),
      };
    } catch (e) {
      for (const d of [mdir, pdir]) { try { fs.rmdirSync(d); } catch { /* not made */ } }
      return { reason: `cgroupfs is not writable here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
  }
  return { reason: mounts.v2 ? 'the memory and pids controllers are not delegated to this cgroup' : 'no cgroup v2 or v1 memory+pids hierarchies are mounted' };
}

const systemdProbe = new Map<string, boolean>();

/** A transient scope from systemd (the user's manager for non-root), cgroup v2 only. */
function systemdPlan(l: SessionLimits, user: boolean): LimitPlan | { reason: string } {
  const mounts = readMounts();
  if (!mounts.v2 || mounts.v1.size) return { reason: 'systemd scopes are used only on a pure cgroup v2 host' };
  const bin = ['/usr/bin/systemd-run', '/bin/systemd-run'].find(p => fs.existsSync(p));
  if (!bin) return { reason: 'systemd-run is not installed' };
  const base = [...(user ? ['--user'] : []), '--scope', '--quiet', '--collect'];
  const key = `${bin} ${user}`;
  if (!systemdProbe.has(key)) {
    const r = spawnSync(bin, [...base, '-p', 'MemoryMax=64M', '-p', 'TasksMax=16', '/bin/true'], { timeout: 5000, stdio: 'ignore' });
    systemdProbe.set(key, r.status === 0);
  }
  if (!systemdProbe.get(key)) return { reason: `systemd-run ${user ? '--user ' : ''}--scope does not work here (no ${user ? 'user ' : ''}systemd manager)` };
  let dir: string | undefined;
  let parentEvents: number | undefined;
  return {
    memory: `${l.memoryMb} MB (cgroup v2 via systemd-run ${user ? '--user ' : ''}--scope, MemoryMax)`, processes: `${l.maxProcs} processes and threads (systemd TasksMax)`,
    memoryByCgroup: true, processesLimited: true,
    wrap: (cmd, args) => ({ cmd: bin, args: [...base, '-p', `MemoryMax=${l.memoryMb}M`, '-p', 'MemorySwapMax=0', '-p', `TasksMax=${l.maxProcs}`, '--', cmd, ...args] }),
    env: {}, spawnEnv: {},
    started: pid => {
      // the scope is gone once its processes are: its parent slice's memory.events counts the OOM kills below it
      setTimeout(() => {
        const p = ownCgroups(pid).get('');
        if (p && mounts.v2) { dir = path.dirname(path.join(mounts.v2, p)); parentEvents = oomFrom(read(path.join(dir, 'memory.events'))); }
      }, 200).unref();
    },
    oomKills: () => { const n = dir ? oomFrom(read(path.join(dir, 'memory.events'))) : undefined; return n === undefined || parentEvents === undefined ? undefined : n - parentEvents; },
    release: () => undefined,
  };
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return !!m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor));
}

function userProcessCount(uid: number): number {
  let n = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = read(`/proc/${d}/status`);
    const m = s && /^Uid:\s+(\d+)/m.exec(s);
    if (m && Number(m[1]) === uid) n += Number(/^Threads:\s+(\d+)/m.exec(s!)?.[1] ?? 1);
  }
  return n;
}

/** The limits for a new session on this host. */
export function planLimits(l: SessionLimits): LimitPlan {
  const uid = process.getuid?.() ?? -1;
  const reasons: string[] = [];
  if (uid === 0) {
    const p = cgroupfsPlan(l);
    if ('wrap' in p) return p;
    reasons.push(p.reason);
    const s = systemdPlan(l, false);
    if ('wrap' in s) return s;
    reasons.push(s.reason);
  } else {
    const s = systemdPlan(l, true);
    if ('wrap' in s) return s;
    reasons.push(s.reason);
    const p = cgroupfsPlan(l); // a cgroup delegated to this user (e.g. a container's own cgroup namespace)
    if ('wrap' in p) return p;
    reasons.push(p.reason);
  }
  const why = reasons.join('; ');
  const bytes = String(l.memoryMb * 1024 * 1024);
  // Linux 5.14+ counts RLIMIT_NPROC per user namespace (ucounts): set inside the sandbox's namespace it counts
  // only the sandbox's own processes. Older kernels count every process of the user.
  const perNs = kernelAtLeast(5, 14);
  const own = 2; // bubblewrap's init and the Python process itself
  const puid = l.processUid ?? uid;
  const nproc = puid > 0 ? (perNs ? l.maxProcs + own : userProcessCount(puid) + l.maxProcs + own) : 0;
  return {
    memory: `${l.memoryMb} MB of address space (RLIMIT_AS fallback: ${why}; thread-heavy code may fail to start threads)`,
    processes: puid === 0 ? `none: no cgroup available (${why}) and RLIMIT_NPROC does not apply to root`
      : perNs ? `${l.maxProcs} processes and threads (RLIMIT_NPROC fallback: ${why}; counted in the sandbox's own user namespace, so the user's other processes do not count)`
        : `RLIMIT_NPROC ${nproc} (fallback: ${why}): this kernel counts all of this user's processes (${nproc - l.maxProcs - own} now), so the sandbox may start about ${l.maxProcs} more`,
    memoryByCgroup: false, processesLimited: puid > 0,
    wrap: (cmd, args) => ({ cmd, args }),
    env: { DATATOOLS_RLIMIT_AS: bytes, ...(puid > 0 ? { DATATOOLS_RLIMIT_NPROC: String(nproc) } : {}) }, spawnEnv: {},
    started: () => undefined, oomKills: () => undefined, release: () => undefined,
  };
}
