import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { insideDataRoots, resultsDir, type DataToolsConfig } from '../config';
import { ToolError } from '../result';
import { grantedCapabilities } from '../roles';
import { defaultPython, describeInRoots, describeInterpreter, interpreterInRoots, kernelDependencyMessage, venvInterpreter, type Interpreter } from './interpreter';
import { planLimits, type LimitPlan } from './limits';
import { seccompFilter } from './seccomp';
import { WriteWatch } from './quota';
import { ENVIRONMENT_PROBE, type Execution, type ExecutionBackend, type EnvironmentInfo, type RichResult, type ScriptRun } from './types';
import { OUTPUT_CAP_BYTES } from './output';

/** The same cap as every backend (exec/output.ts); kernel.py applies it inside the sandbox. */
const OUTPUT_CAP = OUTPUT_CAP_BYTES;

/** kernel.py: next to the bundle (dist/sandbox) or in the source tree when run from tsc output. */
function kernelPath(): string {
  const candidates = [path.join(__dirname, 'sandbox', 'kernel.py'), path.join(__dirname, 'python', 'kernel.py'),
    path.resolve(__dirname, '..', '..', '..', '..', 'src', 'core', 'exec', 'python', 'kernel.py')];
  const found = candidates.find(p => fs.existsSync(p));
  if (!found) throw new Error(`kernel.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** The system interpreter (the default when the user selected none). */
export function findPython(): string {
  return defaultPython();
}

export function findBwrap(): string | undefined {
  for (const p of ['/usr/bin/bwrap', '/usr/local/bin/bwrap']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** Which of the options this bubblewrap knows (Debian 12: 0.8.0 has them all; Ubuntu 22.04's 0.6 lacks some). */
const bwrapFeatures = new Map<string, Set<string>>();
function bwrapHas(bwrap: string, opt: string): boolean {
  if (!bwrapFeatures.has(bwrap)) {
    const help = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 5000 });
    bwrapFeatures.set(bwrap, new Set((`${help.stdout}${help.stderr}`).match(/--[a-z][a-z0-9-]+/g) ?? []));
  }
  return bwrapFeatures.get(bwrap)!.has(opt);
}

export interface Launch {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  isolation: string;
  /** The BPF program handed to bubblewrap on fd 3. */
  seccomp?: Buffer;
  limits: LimitPlan;
  /** Each wall and limit, as get_environment reports it. */
  walls: Record<string, string>;
  /** Root hosts: what rootwrap.py reports on its fd before it starts bubblewrap. */
  report?: (r: { not_idmapped?: { src: string; reason: string }[] }) => void;
  /** Removes what the launch made on the host (the staging folder), after the process ended. */
  cleanup?: () => void;
}

/** The command that starts Python inside bubblewrap: no network, read-only system, private /tmp, the data
 *  roots mounted read-only (or read-write for roles that may write), a clean environment, dies with its parent. */
export interface LaunchOptions {
  /** The interpreter (e.g. the venv's python); the system python by default. */
  python?: string;
  /** Folders the interpreter needs, mounted read-only (its prefixes and site-packages). */
  pythonMounts?: string[];
  /** Share the host network (pip only). */
  network?: boolean;
  /** Extra folders mounted read-write / read-only at their own paths. */
  rw?: string[];
  ro?: string[];
  /** [host folder, sandbox path] read-write mounts (the E2B stand-in's sandbox filesystem). */
  binds?: [string, string][];
  env?: Record<string, string>;
  /** The working directory; default the workspace folder (or the first data root). */
  cwd?: string;
  /** Size caps of /tmp (and /dev/shm) and of the home, MB. */
  tmpMb?: number;
  homeMb?: number;
  /** Most processes and threads of one session. */
  maxProcs?: number;
}

export const DEFAULT_TMP_MB = 1024;
export const DEFAULT_HOME_MB = 256;
export const DEFAULT_MAX_PROCS = 512;
/** uid/gid inside the sandbox's user namespace: never 0, whoever starts it. */
const SANDBOX_UID = 1000;

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
const realOr = (p: string) => { try { return fs.realpathSync(p); } catch { return undefined; } };

export function sandboxLaunch(cfg: DataToolsConfig, pythonArgs: string[], kernelDir: string, lo: LaunchOptions = {}): Launch {
  const python = lo.python ?? findPython();
  const tmpMb = lo.tmpMb ?? DEFAULT_TMP_MB;
  const homeMb = lo.homeMb ?? DEFAULT_HOME_MB;
  const maxProcs = lo.maxProcs ?? DEFAULT_MAX_PROCS;
  const writable = grantedCapabilities({ role: cfg.role, trusted: true }).has('files.write');
  const roots = cfg.allowedPaths.map(realOr).filter((r): r is string => !!r);
  const wantCwd = realOr(lo.cwd ?? cfg.workspaceDir ?? cfg.allowedPaths[0] ?? '/tmp');
  const cwd = wantCwd && roots.some(r => inside(wantCwd, r)) ? wantCwd : (roots[0] ?? '/tmp');
  const limits = planLimits({ memoryMb: cfg.limits.memoryMb, maxProcs });
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/sandbox', LANG: 'C.UTF-8', MPLBACKEND: 'Agg', MPLCONFIGDIR: '/tmp/.mpl',
    PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1',
    DATATOOLS_MEMORY_MB: String(cfg.limits.memoryMb), DATATOOLS_OUTPUT_CAP: String(OUTPUT_CAP),
    DATATOOLS_RLIMIT_FSIZE: String(cfg.limits.sandboxWriteMb * 1024 * 1024),
    ...limits.env, ...lo.env,
  };
  const walls: Record<string, string> = {
    memory: limits.memory, processes: limits.processes, tmp: `${tmpMb} MB (tmpfs /tmp and /dev/shm)`, home: `${homeMb} MB (tmpfs /home/sandbox)`,
    cwd: wantCwd && cwd !== wantCwd ? `${cwd} (${wantCwd} is outside the data roots)` : cwd,
    writes: writable ? `${cfg.limits.sandboxWriteMb.toLocaleString('en-US')} MB per file (RLIMIT_FSIZE), and per run at most that much growth of the data roots' file systems and never their last 5% or 1 GB (DATATOOLS_SANDBOX_WRITE_MB)`
      : `data roots read-only; ${cfg.limits.sandboxWriteMb.toLocaleString('en-US')} MB per file elsewhere (RLIMIT_FSIZE)`,
  };
  const bwrap = findBwrap();
  if (!bwrap) {
    if (!cfg.allowUnisolatedSandbox) {
      limits.release();
      throw new ToolError('The local Python sandbox needs bubblewrap for isolation and it is not installed. Install it (apt-get install bubblewrap), or set an E2B API key to run in the cloud, or allow running without isolation (setting datatools.sandbox.allowUnisolated / DATATOOLS_ALLOW_UNISOLATED=1; unsafe).');
    }
    const w = limits.wrap(python, pythonArgs);
    return { cmd: w.cmd, args: w.args, env: { ...env, ...limits.spawnEnv, HOME: os.tmpdir(), DATATOOLS_CWD: cwd }, isolation: 'none (bubblewrap missing; unisolated by setting)', limits, walls: { ...walls, tmp: 'none (unisolated)', home: 'none (unisolated)' } };
  }
  const has = (o: string) => bwrapHas(bwrap, o);
  const sized = (mb: number, dir: string) => [...(has('--size') ? ['--size', String(mb * 1024 * 1024)] : []), '--tmpfs', dir];
  if (!has('--size')) { walls.tmp = `none: bubblewrap ${bwrap} has no --size (needs 0.7 or newer)`; walls.home = walls.tmp; }
  // As root, bubblewrap's own user namespace would map the sandbox's uid to host uid 0, and root-owned files
  // (/proc/sys, /etc/shadow) would check the sandbox as their owner: rootwrap.py maps it to an unprivileged uid.
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !rootWrap) { limits.release(); throw new ToolError('rootwrap.py is missing beside kernel.py: the sandbox will not start as root without it (reinstall the extension).'); }
  const hostUid = asRoot ? sandboxHostUid(cfg) : process.getuid?.() ?? -1;
  const userArgs = asRoot
    ? ['--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', ...(lo.network ? [] : ['--unshare-net']), '--userns', '@USERNS@']
    : ['--unshare-all', '--unshare-user', ...(has('--disable-userns') ? ['--disable-userns'] : []), ...(lo.network ? ['--share-net'] : [])];
  // a user namespace with an unprivileged uid and no capabilities, whoever starts it (root keeps them otherwise)
  const args = [...userArgs, '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID), '--cap-drop', 'ALL',
    '--die-with-parent', '--new-session', '--clearenv',
    '--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc', '--proc', '/proc', '--ro-bind', '/proc/sys', '/proc/sys', '--dev', '/dev',
    ...sized(tmpMb, '/tmp'), ...sized(tmpMb, '/dev/shm'), ...sized(homeMb, '/home'), '--dir', '/home/sandbox',
    ...sized(16, '/root'), ...sized(64, '/var'), ...sized(16, '/run')];
  for (const d of ['/bin', '/lib', '/lib64', '/lib32', '/sbin']) {
    if (!fs.existsSync(d)) continue;
    const st = fs.lstatSync(d);
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(d), d); else args.push('--ro-bind', d, d);
  }
  // Everything from outside the system folders, in mount order (a later mount goes over an earlier one): the
  // interpreter's folders first, read-only; those inside a data root again after it (a venv in the workspace).
  const mounts: { src: string; dst: string; rw: boolean }[] = [];
  const pyMounts = (lo.pythonMounts ?? []).map(realOr).filter((m): m is string => !!m);
  const pyOutside = pyMounts.filter(m => !roots.some(r => inside(m, r)));
  for (const m of pyOutside) mounts.push({ src: m, dst: m, rw: false });
  for (const [src, dst] of lo.binds ?? []) mounts.push({ src, dst, rw: true });
  for (const real of roots) mounts.push({ src: real, dst: real, rw: writable });
  for (const m of pyMounts.filter(x => !pyOutside.includes(x))) mounts.push({ src: m, dst: m, rw: false });
  for (const d of lo.ro ?? []) { const r = realOr(d); if (r) mounts.push({ src: r, dst: r, rw: false }); }
  for (const d of lo.rw ?? []) { const r = realOr(d); if (r) mounts.push({ src: r, dst: r, rw: true }); }
  mounts.push({ src: kernelDir, dst: '/opt/datatools', rw: false });
  // as root each is mounted first under a staging folder that the unprivileged uid can reach (rootwrap.py)
  const stage = asRoot ? fs.mkdtempSync(path.join(os.tmpdir(), 'datatools-stage-')) : undefined;
  mounts.forEach((m, i) => args.push(m.rw ? '--bind' : '--ro-bind', stage ? `${stage}/${i}` : m.src, m.dst));
  args.push('--chdir', cwd);
  const sc = has('--seccomp') ? seccompFilter() : { description: 'no seccomp filter: this bubblewrap has no --seccomp' };
  if (sc.program) args.push('--seccomp', '3');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, String(v));
  args.push(python, ...pythonArgs.map(a => (a.startsWith(kernelDir) ? a.replace(kernelDir, '/opt/datatools') : a)));
  walls.user = asRoot
    ? `uid ${SANDBOX_UID} in its own user namespace, which is host uid ${hostUid}, an unprivileged uid no account uses (the host runs as root; DATATOOLS_SANDBOX_UID changes it), no capabilities (--cap-drop ALL), no_new_privs, no nested user namespaces (seccomp)`
    : `uid ${SANDBOX_UID} in its own user namespace, no capabilities (--cap-drop ALL), no_new_privs${has('--disable-userns') ? ', no nested user namespaces' : ''}`;
  if (asRoot) walls['data roots'] = 'id-mapped: files of each root\'s owner are the sandbox\'s own, and what the sandbox writes there belongs to that owner';
  walls.seccomp = sc.description;
  walls.sysctl = '/proc/sys read-only';
  const inner = asRoot
    ? { cmd: hostPython(), args: ['-I', '-S', rootWrap!, JSON.stringify({ uid: hostUid, stage, mounts: mounts.map(m => ({ src: m.src, idmap: true })), report_fd: REPORT_FD }), bwrap, ...args] }
    : { cmd: bwrap, args };
  const w = limits.wrap(inner.cmd, inner.args);
  const launch: Launch = { cmd: w.cmd, args: w.args, env: { ...limits.spawnEnv }, seccomp: sc.program, limits, walls,
    isolation: `bubblewrap (no network, read-only system, private /tmp, data roots ${writable ? 'read-write' : 'read-only'}, unprivileged user namespace${asRoot ? ` as host uid ${hostUid}` : ''}, ${sc.program ? 'seccomp' : 'no seccomp'})` };
  if (stage) {
    launch.report = (r: { not_idmapped?: { src: string; reason: string }[] }) => {
      const missed = (r.not_idmapped ?? []).filter(n => roots.includes(n.src) || (lo.rw ?? []).some(d => realOr(d) === n.src));
      if (missed.length) walls['data roots'] = `not id-mapped (${missed.map(n => `${n.src}: ${n.reason}`).join('; ')}): the sandbox reaches files there by their modes, as host uid ${hostUid}`;
    };
    launch.cleanup = () => { try { fs.rmdirSync(stage); } catch { /* not empty or gone: a stale empty folder in the temp dir */ } };
  }
  return launch;
}

/** The fd on which rootwrap.py reports what it could not id-map. */
const REPORT_FD = 4;

/** rootwrap.py beside kernel.py (dist/sandbox or the source tree). */
const rootWrap = (() => { try { const p = path.join(path.dirname(kernelPath()), 'rootwrap.py'); return fs.existsSync(p) ? p : undefined; } catch { return undefined; } })();

/** The system's own interpreter runs rootwrap.py (never the user's or a venv's: it runs as root on the host). */
function hostPython(): string {
  for (const p of ['/usr/bin/python3', '/bin/python3']) if (fs.existsSync(p)) return p;
  throw new ToolError('The host runs as root and the sandbox needs /usr/bin/python3 to start as an unprivileged uid (apt-get install python3).');
}

/** The host uid of the sandbox's processes when the host runs as root: DATATOOLS_SANDBOX_UID, else 60999, or the
 *  next lower one that no account or group in /etc/passwd and /etc/group uses. Never 0. */
export function sandboxHostUid(cfg: Pick<DataToolsConfig, 'sandboxUid'>): number {
  if (cfg.sandboxUid) return cfg.sandboxUid;
  const used = new Set<number>();
  for (const f of ['/etc/passwd', '/etc/group']) {
    let text = '';
    try { text = fs.readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n')) { const id = Number(line.split(':')[2]); if (Number.isInteger(id)) used.add(id); }
  }
  let uid = DEFAULT_SANDBOX_HOST_UID;
  while (used.has(uid) && uid > 1000) uid--;
  return uid;
}
export const DEFAULT_SANDBOX_HOST_UID = 60999;

/** Spawns a launch: the seccomp program goes in on fd 3, rootwrap.py reports on fd 4 (root hosts), the limits
 *  learn the pid, and what the launch made on the host is removed when the process has ended. */
function spawnLaunch(launch: Launch, stdin: 'pipe' | 'ignore'): ChildProcess {
  const extra: ('pipe' | 'ignore')[] = launch.report ? [launch.seccomp ? 'pipe' : 'ignore', 'pipe'] : launch.seccomp ? ['pipe'] : [];
  const p = spawn(launch.cmd, launch.args, { env: launch.env, stdio: [stdin, 'pipe', 'pipe', ...extra], detached: true });
  if (launch.seccomp) {
    const s = p.stdio[3] as NodeJS.WritableStream & { on: (e: string, f: () => void) => void };
    s.on('error', () => undefined);
    s.end(launch.seccomp);
  }
  if (launch.report) {
    let text = '';
    const r = p.stdio[REPORT_FD] as NodeJS.ReadableStream;
    r.on('data', (d: Buffer) => { text += d.toString(); });
    r.on('error', () => undefined);
    r.on('end', () => { try { launch.report!(JSON.parse(text)); } catch { /* it failed before reporting: its stderr says why */ } });
  }
  p.on('close', () => launch.cleanup?.());
  if (p.pid) launch.limits.started(p.pid);
  return p;
}

interface Pending {
  id: number;
  exec: Execution;
  onStream?: (name: 'stdout' | 'stderr', text: string) => void;
  resolve: (e: Execution) => void;
  reject: (e: Error) => void;
}

class KernelProcess {
  readonly proc: ChildProcess;
  readonly ready: Promise<{ engine: string; python: string }>;
  private pending?: Pending;
  private seq = 0;
  exited = false;
  exitSignal: NodeJS.Signals | null = null;
  stderrTail = '';
  private oomBefore: number | undefined;
  /** Set at exit: whether the cgroup's OOM killer ended it (undefined: unknown). */
  diedOfOom: boolean | undefined;

  constructor(readonly launch: Launch) {
    this.proc = spawnLaunch(launch, 'pipe');
    this.oomBefore = launch.limits.oomKills();
    this.proc.stdin!.on('error', () => undefined);
    let readyResolve!: (v: { engine: string; python: string }) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
    this.ready.catch(() => undefined);
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on('line', line => {
      let m: Record<string, unknown>;
      try { m = JSON.parse(line); } catch { return; }
      if (m.type === 'ready') { readyResolve(m as { engine: string; python: string }); return; }
      const p = this.pending;
      if (!p || m.id !== p.id) return;
      this.onMessage(p, m);
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      // output of child processes (fd 1 and 2 of the sandbox) arrives here
      const p = this.pending;
      if (p) {
        const room = OUTPUT_CAP - p.exec.stderr.length;
        if (room > 0) p.exec.stderr += text.slice(0, room); else p.exec.droppedBytes += text.length;
        p.onStream?.('stderr', text);
      }
    });
    this.proc.on('exit', (code, sig) => {
      this.exited = true;
      this.exitSignal = sig;
      // whatever the kernel left behind (start_new_session=True included) goes with its cgroup
      const n = this.launch.limits.oomKills();
      this.diedOfOom = n === undefined ? undefined : n > (this.oomBefore ?? 0);
      this.launch.limits.release();
      readyReject(new Error(`the Python sandbox exited at start (${sig ?? code}): ${this.stderrTail.trim().slice(-1500)}`));
      this.pending?.reject(new Error(`the Python process ended (${sig ?? `exit ${code}`})`));
      this.pending = undefined;
    });
  }

  private onMessage(p: Pending, m: Record<string, unknown>): void {
    switch (m.type) {
      case 'stream': {
        const name = m.name === 'stderr' ? 'stderr' : 'stdout';
        p.exec[name] += String(m.text);
        p.onStream?.(name, String(m.text));
        break;
      }
      case 'display': {
        const d = m.data as Record<string, unknown>;
        const r: RichResult = { isMainResult: m.is_result === true };
        if (typeof d['text/plain'] === 'string') r.text = d['text/plain'];
        if (typeof d['text/html'] === 'string') r.html = d['text/html'];
        if (typeof d['image/png'] === 'string') r.png = d['image/png'];
        if (typeof d['image/jpeg'] === 'string') r.jpeg = d['image/jpeg'];
        if (typeof d['image/svg+xml'] === 'string') r.svg = d['image/svg+xml'];
        if (d['application/json'] !== undefined) r.json = d['application/json'];
        if (d['application/vnd.datatools.table+json']) r.table = d['application/vnd.datatools.table+json'] as RichResult['table'];
        p.exec.results.push(r);
        break;
      }
      case 'error':
        p.exec.error = { name: String(m.ename), value: String(m.evalue), traceback: String(m.traceback) };
        break;
      case 'done':
        p.exec.executionCount = typeof m.execution_count === 'number' ? m.execution_count : undefined;
        p.exec.droppedBytes += Number(m.dropped ?? 0);
        this.pending = undefined;
        p.resolve(p.exec);
        break;
    }
  }

  execute(code: string, onStream?: Pending['onStream']): Promise<Execution> {
    if (this.pending) throw new Error('busy');
    const id = ++this.seq;
    return new Promise<Execution>((resolve, reject) => {
      this.pending = { id, onStream, resolve, reject, exec: { stdout: '', stderr: '', results: [], durationMs: 0, droppedBytes: 0 } };
      this.proc.stdin!.write(JSON.stringify({ id, op: 'execute', code }) + '\n');
    });
  }

  /** SIGINT to the kernel's Python process (inside the sandbox's namespaces; found among the launch's descendants by
   *  its command line), as Jupyter's interrupt: the running cell gets a KeyboardInterrupt. False when it is not found. */
  interrupt(kernelFile: string): boolean {
    if (this.exited || !this.proc.pid) return false;
    // bubblewrap's own processes carry the same arguments: the kernel is the one that is not bubblewrap
    // without bubblewrap (the unisolated fallback) the launched process is the kernel itself
    const pid = [this.proc.pid, ...descendants(this.proc.pid)].find(p => {
      try {
        if (fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bwrap') return false;
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').some(a => a.endsWith(path.basename(kernelFile)));
      } catch { return false; }
    });
    if (!pid) return false;
    try { process.kill(pid, 'SIGINT'); return true; } catch { return false; }
  }

  kill(): void {
    if (this.exited || !this.proc.pid) { this.launch.limits.release(); return; }
    try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** The processes below `root` (from /proc: each one's parent), nearest first. */
function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)!).push(Number(e));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  for (let q = [root]; q.length;) { const p = q.shift()!; for (const c of kids.get(p) ?? []) { out.push(c); q.push(c); } }
  return out;
}

/** How long an interrupted cell may take to stop before its kernel is killed and restarted instead. */
export const INTERRUPT_GRACE_MS = 5000;

/** Runs a sandboxed process to completion with a timeout, output caps and cancellation (its whole group is killed). */
function runProcess(launch: Launch, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun & { oomKills?: number }> {
  const started = performance.now();
  return new Promise(resolve => {
    const p = spawnLaunch(launch, 'ignore');
    const out = { stdout: '', stderr: '', dropped: 0 };
    const take = (k: 'stdout' | 'stderr') => (d: Buffer) => {
      o.onStream?.(k, d.toString());
      const room = OUTPUT_CAP - out[k].length;
      if (room > 0) out[k] += d.toString().slice(0, room); else out.dropped += d.length;
    };
    p.stdout!.on('data', take('stdout'));
    p.stderr!.on('data', take('stderr'));
    let timedOut = false;
    const kill = () => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs);
    o.signal.addEventListener('abort', kill, { once: true });
    p.on('close', code => {
      const oomKills = launch.limits.oomKills();
      launch.limits.release();
      clearTimeout(timer);
      o.signal.removeEventListener('abort', kill);
      resolve({ oomKills, stdout: out.stdout, stderr: out.stderr, exitCode: code, durationMs: Math.round(performance.now() - started), timedOut, droppedBytes: out.dropped });
    });
  });
}

/** The default backend: a persistent Python process per session, isolated by bubblewrap. */
/** A limit named in a Python error: the error says which wall it hit, so nobody reads it as a crash. */
export function explainLimitError(err: { name: string; value: string }, walls: Record<string, string>): string | undefined {
  const v = `${err.name}: ${err.value}`;
  if (err.name === 'MemoryError') return `hit the memory limit: ${walls.memory}`;
  if (/can't start new thread/.test(v) && /RLIMIT_AS/.test(walls.memory)) {
    return `hit the address-space limit (each thread reserves its stack there: ${walls.memory}) or the process limit (${walls.processes})`;
  }
  if (/\[Errno 11\] Resource temporarily unavailable|can't start new thread|EAGAIN/.test(v)) return `hit the process limit: ${walls.processes}`;
  if (/\[Errno 27\] File too large/.test(v)) return `hit the size cap on one file: ${walls.writes}`;
  if (/\[Errno 28\] No space left on device/.test(v)) return `hit a size cap (or a full disk): /tmp ${walls.tmp}; home ${walls.home}. Write large files into the data roots instead`;
  return undefined;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FIGURE_MAX_BYTES = 16 * 1024 * 1024;

/** A file the sandbox wrote into a folder of the host's, read without following a link it may have planted there
 *  (O_NOFOLLOW), only if it is a regular file within `max` bytes; undefined otherwise. */
export function readOwnFile(file: string, max: number): Buffer | undefined {
  let fd: number;
  try { fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK); } catch { return undefined; }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > max) return undefined;
    return fs.readFileSync(fd);
  } catch { return undefined; } finally { fs.closeSync(fd); }
}
export const FIGURE_BACKEND = 'datatools_figures';
/** Python run before a script: a matplotlib backend (Agg underneath) whose show() saves every open figure as a PNG
 *  into DATATOOLS_FIGURE_DIR and closes it, as a window closed by the person would be; when the script ends (also by
 *  an exception or sys.exit) the figures still open are saved too (not in atexit: pyplot's own atexit handler,
 *  registered later and so run first, destroys them). It costs nothing when the script never imports matplotlib: the backend module is only
 *  built when matplotlib asks for it (MPLBACKEND=module://datatools_figures). */
export const FIGURE_HOOK = `def _dt_setup():
    import importlib.util
    d = os.environ.get("DATATOOLS_FIGURE_DIR")
    if not d: return lambda: None
    count = [0]
    def save():
        if "matplotlib.pyplot" not in sys.modules: return
        from matplotlib._pylab_helpers import Gcf
        for m in list(Gcf.get_all_fig_managers()):
            count[0] += 1
            try: m.canvas.figure.savefig(os.path.join(d, "figure-%04d.png" % count[0]), format="png")
            except Exception as e: sys.stderr.write("[datatools] figure %d could not be saved as PNG: %s\\n" % (count[0], e))
        sys.modules["matplotlib.pyplot"].close("all")
    class Finder:
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "${FIGURE_BACKEND}" else None
        def create_module(self, spec): return None
        def exec_module(self, mod):
            from matplotlib.backends import backend_agg
            mod.FigureCanvas = backend_agg.FigureCanvasAgg
            mod.FigureManager = backend_agg.FigureManager
            def show(*args, **kwargs): save()
            mod.show = show
    sys.meta_path.append(Finder())
    return save
_dt_save_figures = _dt_setup()
del _dt_setup
`;

/** `python -c SCRIPT_PRELUDE script.py args...` runs the script as `python script.py args...` would, with the figure hook
 *  (the Jupyter backend's run_script; the local one adds its limits). */
export const SCRIPT_PRELUDE = `import os, runpy, sys\n${FIGURE_HOOK}sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
try: runpy.run_path(sys.argv[0], run_name="__main__")
finally: _dt_save_figures()
`;

const hash = (s: string) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 12);

/** The default backend: a persistent Python process per session, isolated by bubblewrap. */
export class LocalSandbox implements ExecutionBackend {
  readonly name = 'local' as const;
  private kernel?: KernelProcess;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly kernelFile = kernelPath();
  /** Said once, with the next result. */
  private note: string | undefined;
  /** Notes for the next reply add up: a second one must not hide the first. */
  private addNote(text: string): void { this.note = this.note ? `${this.note}\n[note] ${text}` : text; }

  constructor(private readonly cfg: DataToolsConfig, private readonly extra: LaunchOptions = {}) {}

  /** The per-workspace virtual environment: created on first use (fast: no pip copy, the system's data stack
   *  stays visible through --system-site-packages) in the host's work folder, outside every data root, and mounted
   *  read-only into the sandbox (read-write for install_package's pip, inside the sandbox). The host never runs its
   *  python: it is described from the interpreter it was made from (venvInterpreter). */
  private venvPython(): string | undefined {
    const dir = this.cfg.venvDir;
    const py = path.join(dir, 'bin', 'python');
    if (insideDataRoots(dir, this.cfg.allowedPaths)) { this.venvError = `${dir} lies inside a data root`; return undefined; }
    if (fs.existsSync(py)) return py;
    try {
      fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
      const r = spawnSync(findPython(), ['-I', '-m', 'venv', '--without-pip', '--system-site-packages', dir], { encoding: 'utf8', timeout: 60_000 });
      if (r.status === 0 && fs.existsSync(py)) return py;
      this.venvError = (r.stderr || r.error?.message || 'unknown error').trim().split('\n').pop();
    } catch (e) { this.venvError = (e as Error).message; }
    return undefined;
  }
  private venvError: string | undefined;
  /** What the kernel reported at its last start: whether IPython imported inside the sandbox. */
  private engine: string | undefined;

  /** The user's interpreter when one is selected (packages that install_package adds go to a folder of their
   *  own, on PYTHONPATH: the user's environment is never written); otherwise the system python3 through the
   *  per-workspace venv. An interpreter inside a data root (a workspace .venv) is never run on the host. */
  private interpreter(): { it: Interpreter; source: string; overlay?: string } {
    const chosen = this.extra.python ?? this.cfg.python;
    if (chosen) {
      const inRoots = interpreterInRoots(chosen, this.cfg.allowedPaths);
      const it = inRoots ? describeInRoots(chosen, this.cfg.allowedPaths) : describeInterpreter(chosen);
      return { it, source: `${this.extra.python ? 'launch option' : (this.cfg.pythonSource ?? 'configured')}${inRoots ? '; inside a data root, so it runs only in the sandbox' : ''}`,
        overlay: path.join(this.cfg.workDir, 'packages', `py${it.version}-${hash(it.executable)}`) };
    }
    const base = describeInterpreter(findPython());
    const venv = this.venvPython();
    if (venv) return { it: venvInterpreter(this.cfg.venvDir, base), source: `system python3 with the per-workspace venv ${this.cfg.venvDir}` };
    return { it: base, source: `system python3 (no per-workspace venv: ${this.venvError})` };
  }

  private launchOptions(o: LaunchOptions = {}): LaunchOptions & { python: string } {
    const { it, overlay } = this.interpreter();
    // made up front so that the session started now sees what install_package adds later
    if (overlay) { try { fs.mkdirSync(overlay, { recursive: true }); } catch { /* no installs */ } }
    const hasOverlay = !!overlay && fs.existsSync(overlay);
    // results saved by name (save_as "x.parquet") are read by code at the path the reply names, read-only
    const results = resultsDir(this.cfg);
    try { fs.mkdirSync(results, { recursive: true }); } catch { /* not mounted then */ }
    return {
      ...this.extra, ...o, python: it.executable,
      pythonMounts: [...it.mounts, ...(this.extra.pythonMounts ?? [])],
      ro: [...(hasOverlay ? [overlay] : []), ...(fs.existsSync(results) ? [results] : []), ...(this.extra.ro ?? []), ...(o.ro ?? [])],
      env: { ...(hasOverlay ? { PYTHONPATH: overlay } : {}), ...this.extra.env, ...o.env },
    };
  }

  private async ensure(): Promise<KernelProcess> {
    if (this.kernel && !this.kernel.exited) return this.kernel;
    const launch = sandboxLaunch(this.cfg, ['-u', this.kernelFile], path.dirname(this.kernelFile), this.launchOptions());
    const k = new KernelProcess(launch);
    this.kernel = k;
    try {
      const ready = await k.ready;
      this.engine = ready.engine;
      // no IPython in the user's interpreter: the session runs with plain exec, and the first result says so
      const dep = ready.engine !== 'ipython' ? kernelDependencyMessage({ ...this.interpreter().it, ipython: false }) : undefined;
      if (dep) this.addNote(dep);
    } catch (e) {
      const msg = (e as Error).message;
      if (/bwrap: .*(namespace|uid map|setting up uid map|Operation not permitted)/i.test(msg)) {
        throw new ToolError(`bubblewrap could not create the sandbox's user namespace on this host (${msg.split('\n').find(l => l.includes('bwrap:'))?.trim()}). Allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0; on Ubuntu 24.04 an AppArmor profile for bwrap or kernel.apparmor_restrict_unprivileged_userns=0; in a container, a runtime that permits them), or set an E2B API key to run in the cloud.`);
      }
      throw new ToolError(`The Python sandbox could not start: ${msg}`);
    }
    return k;
  }

  execute(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<Execution> {
    const task = this.queue.then(() => this.run(code, o));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async run(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<Execution> {
    const k = await this.ensure();
    // cancelled while the kernel was starting: nothing runs
    if (o.signal.aborted) return { stdout: '', stderr: '', results: [], durationMs: 0, droppedBytes: 0, error: { name: 'Cancelled', value: 'Execution was cancelled before the code started; nothing ran and the session keeps its state', traceback: '' } };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let reason: string | undefined;
    let grace: NodeJS.Timeout | undefined;
    let uninterruptible = false;
    const stop = (why: string) => { reason = why; k.kill(); };
    // a timeout or a cancel interrupts the cell first (the session keeps its state); only a cell that does not stop
    // within the grace period costs the session
    const interrupt = (why: string) => {
      if (reason) return;
      reason = why;
      if (!k.interrupt(this.kernelFile)) { uninterruptible = true; k.kill(); return; }
      grace = setTimeout(() => k.kill(), INTERRUPT_GRACE_MS);
    };
    const onAbort = () => interrupt('cancelled');
    o.signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => interrupt('timeout'), o.timeoutMs);
    let overWrite: string | undefined;
    const unwatch = this.writeWatch()?.start(why => { overWrite = why; stop('writes'); }) ?? (() => undefined);
    try {
      const exec = await k.execute(code, o.onStream);
      if (this.note) { exec.stderr = `[note] ${this.note}\n${exec.stderr}`; this.note = undefined; }
      if ((reason === 'timeout' || reason === 'cancelled') && exec.error?.name === 'KeyboardInterrupt') {
        const label = reason === 'timeout' ? `Execution stopped after its ${o.timeoutMs / 1000} s timeout` : 'Execution was cancelled';
        exec.error = { name: reason === 'timeout' ? 'TimeoutError' : 'Cancelled', value: `${label}; the kernel was interrupted and its state is kept (variables from earlier calls are still defined)`, traceback: exec.error.traceback };
      }
      exec.durationMs = Math.round(performance.now() - started);
      const hit = exec.error && explainLimitError(exec.error, k.launch.walls);
      if (exec.error && hit) exec.error = { ...exec.error, value: `${exec.error.value} (the sandbox ${hit})` };
      return exec;
    } catch (e) {
      const durationMs = Math.round(performance.now() - started);
      this.kernel = undefined;
      const base: Execution = { stdout: '', stderr: k.stderrTail.slice(-2000), results: [], durationMs, droppedBytes: 0 };
      const ignored = uninterruptible
        ? 'the kernel process could not be found to interrupt, so it was ended and a new one starts with the next call'
        : `the code did not stop on interrupt within ${INTERRUPT_GRACE_MS / 1000} s, so its kernel was ended and a new one starts with the next call`;
      if (reason === 'timeout') {
        return { ...base, restarted: 'timeout', error: { name: 'TimeoutError', value: `Execution stopped after its ${o.timeoutMs / 1000} s timeout; ${ignored}`, traceback: '' } };
      }
      if (reason === 'cancelled') {
        // the caller that cancelled does not read this reply: the next one says it
        this.addNote(`the previous execute_code was cancelled and ${ignored}: variables, imports and loaded data from before are gone.`);
        return { ...base, restarted: 'cancelled', error: { name: 'Cancelled', value: `Execution was cancelled; ${ignored}`, traceback: '' } };
      }
      if (reason === 'writes') {
        return { ...base, restarted: 'write limit', error: { name: 'WriteLimitExceeded', traceback: '',
          value: `The code ${overWrite}; it was stopped and the session restarted. What it wrote is still there: delete what is not needed, or write less at once.` } };
      }
      const mb = this.cfg.limits.memoryMb;
      if (k.diedOfOom || (k.diedOfOom === undefined && k.launch.limits.memoryByCgroup && k.exitSignal === 'SIGKILL')) {
        return { ...base, restarted: 'memory limit', error: { name: 'MemoryLimitExceeded', traceback: '',
          value: `The code hit the memory limit of ${mb} MB (${k.launch.walls.memory}); the kernel was killed${k.diedOfOom ? ' by the out-of-memory killer' : ''} and the session restarted. Load less at once: select columns, read in chunks, use smaller dtypes.` } };
      }
      return { ...base, restarted: 'crash', error: { name: 'SandboxCrash', value: `${(e as Error).message}. The session was restarted.`, traceback: '' } };
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      unwatch();
      o.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The watch on what code writes into the data roots, when the role mounts them read-write. */
  private writeWatch(): WriteWatch | undefined {
    if (!grantedCapabilities({ role: this.cfg.role, trusted: true }).has('files.write')) return undefined;
    return new WriteWatch(this.cfg.allowedPaths, this.cfg.limits.sandboxWriteMb * 1024 * 1024);
  }

  async runScript(file: string, args: string[], o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun> {
    const kernelDir = path.dirname(this.kernelFile);
    // the script runs in a fresh process with the same isolation and limits, in its own folder (as `python x.py` there)
    const prelude = 'import os, resource, runpy, sys\n'
      + 'm = int(os.environ.get("DATATOOLS_RLIMIT_AS", "0"))\n'
      + 'if m: resource.setrlimit(resource.RLIMIT_AS, (m, m))\n'
      + 'n = int(os.environ.get("DATATOOLS_RLIMIT_NPROC", "0"))\n'
      + 'if n: resource.setrlimit(resource.RLIMIT_NPROC, (n, n))\n'
      + 'f = int(os.environ.get("DATATOOLS_RLIMIT_FSIZE", "0"))\n'
      + 'if f: resource.setrlimit(resource.RLIMIT_FSIZE, (f, f))\n'
      + 'resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n'
      + 'c = os.environ.get("DATATOOLS_CWD")\nif c: os.chdir(c)\n'
      + FIGURE_HOOK
      + 'sys.argv = sys.argv[1:]\n'
      + 'sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))\n'
      + 'try: runpy.run_path(sys.argv[0], run_name="__main__")\n'
      + 'finally: _dt_save_figures()\n';
    // figures the script shows (or leaves open) are saved as PNG into a folder of this run, read back afterwards
    const figureDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'datatools-figures-')));
    try {
      const launch = sandboxLaunch(this.cfg, ['-c', prelude, file, ...args], kernelDir, this.launchOptions({ cwd: path.dirname(file), rw: [figureDir],
        env: { MPLBACKEND: `module://${FIGURE_BACKEND}`, DATATOOLS_FIGURE_DIR: figureDir } }));
      const r = await this.runScriptLaunch(launch, o);
      const figures = fs.readdirSync(figureDir).filter(f => /^figure-\d+\.png$/.test(f)).sort()
        .map(f => readOwnFile(path.join(figureDir, f), FIGURE_MAX_BYTES))
        .filter((b): b is Buffer => !!b && b.subarray(0, 8).equals(PNG_MAGIC)).map(b => b.toString('base64'));
      return figures.length ? { ...r, figures } : r;
    } finally {
      fs.rmSync(figureDir, { recursive: true, force: true });
    }
  }

  private async runScriptLaunch(launch: Launch, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun> {
    const oomBefore = launch.limits.oomKills();
    // the write watch stops the script as a cancel would, and says why
    const ac = new AbortController();
    const forward = () => ac.abort();
    o.signal.addEventListener('abort', forward, { once: true });
    let overWrite: string | undefined;
    const unwatch = this.writeWatch()?.start(why => { overWrite = why; ac.abort(); }) ?? (() => undefined);
    const { oomKills, ...r } = await runProcess(launch, { ...o, signal: ac.signal }).finally(() => { unwatch(); o.signal.removeEventListener('abort', forward); });
    const oom = oomKills !== undefined && oomBefore !== undefined ? oomKills > oomBefore : undefined;
    const tail = r.stderr.split('\n').filter(Boolean).pop() ?? '';
    const m = /^(\w+(?:Error|Exception)?): (.*)$/.exec(tail);
    if (overWrite) {
      r.note = `the script ${overWrite}, and was stopped; what it wrote is still there`;
    } else if (oom || (oom === undefined && launch.limits.memoryByCgroup && r.exitCode === null && !r.timedOut && !o.signal.aborted)) {
      r.note = `the script hit the memory limit of ${this.cfg.limits.memoryMb} MB (${launch.walls.memory}) and was killed`;
    } else if (m) {
      const hit = explainLimitError({ name: m[1], value: m[2] }, launch.walls);
      if (hit) r.note = `the script ${hit}`;
    }
    return r;
  }

  async install(packages: string[], o: { timeoutMs: number; signal: AbortSignal }): Promise<ScriptRun> {
    const { overlay } = this.interpreter();
    let lo: LaunchOptions & { python: string };
    let target: string[] = [];
    if (overlay) {
      // the user's own environment stays untouched: packages go to a folder of this workspace, on PYTHONPATH
      fs.mkdirSync(overlay, { recursive: true });
      lo = this.launchOptions({ rw: [overlay] });
      target = ['--target', overlay];
    } else {
      const py = this.venvPython();
      if (!py) throw new ToolError(`Could not create the virtual environment at ${this.cfg.venvDir} (${this.venvError}). Install python3-venv (apt-get install python3-venv).`);
      lo = { ...this.launchOptions(), rw: [this.cfg.venvDir] };
    }
    // pip's own settings (a mirror, an offline wheel folder) pass through; a local --find-links folder is mounted
    const env: Record<string, string> = { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_PROGRESS_BAR: 'off' };
    for (const [k, v] of Object.entries(process.env)) if (/^PIP_(INDEX_URL|EXTRA_INDEX_URL|FIND_LINKS|NO_INDEX|TRUSTED_HOST|CERT|DEFAULT_TIMEOUT)$/.test(k) && v) env[k] = v;
    const ro = (env.PIP_FIND_LINKS ?? '').split(/\s+/).filter(p => p.startsWith('/'));
    const launch = sandboxLaunch(this.cfg, ['-m', 'pip', 'install', '--no-warn-script-location', ...target, ...packages], path.dirname(this.kernelFile),
      { ...lo, network: true, ro: [...(lo.ro ?? []), ...ro], env: { ...lo.env, ...env } });
    const { oomKills: _o, ...r } = await runProcess(launch, o);
    // the running session sees the new packages: the venv's site-packages (or the folder on PYTHONPATH) is on its path
    if (this.kernel && !this.kernel.exited) await this.execute('import importlib; importlib.invalidate_caches()', { timeoutMs: 10_000, signal: o.signal }).catch(() => undefined);
    return r;
  }

  async environment(): Promise<EnvironmentInfo> {
    const exec = await this.execute(ENVIRONMENT_PROBE, { timeoutMs: 30_000, signal: new AbortController().signal });
    if (exec.error) throw new ToolError(`Could not describe the environment: ${exec.error.name}: ${exec.error.value}`);
    const info = JSON.parse(exec.stdout.trim().split('\n').pop() ?? '{}') as { python: string; packages: Record<string, string | null> };
    const k = this.kernel!;
    const { it, source } = this.interpreter();
    const dep = kernelDependencyMessage({ ...it, ipython: this.engine ? this.engine === 'ipython' : it.ipython });
    return { backend: 'local', isolation: k.launch.isolation, python: info.python, packages: info.packages, network: 'none (the sandbox has no network namespace access)',
      interpreter: `${it.executable} (${source}${it.venv ? `, virtual environment at ${it.prefix}` : ''})`,
      cwd: k.launch.walls.cwd, walls: { ...k.launch.walls }, notes: dep ? [dep] : [] };
  }

  async restart(): Promise<void> {
    this.kernel?.kill();
    this.kernel = undefined;
  }

  async dispose(): Promise<void> { await this.restart(); }
}

/** Whether bubblewrap can create its namespaces here (fails in some containers). */
export function bwrapWorks(): boolean {
  const b = findBwrap();
  if (!b) return false;
  return spawnSync(b, ['--unshare-all', '--ro-bind', '/', '/', '/bin/true']).status === 0;
}
