import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ToolError } from '../result';

/** The Python interpreter a sandbox runs: the user's own (a venv, conda env, pyenv build) or the system's.
 *  Probed once outside the sandbox for what to mount: its prefixes and site-packages, read-only. */
export interface Interpreter {
  /** The path that was asked for (may be a shim or symlink). */
  requested: string;
  /** sys.executable: what runs inside the sandbox. */
  executable: string;
  version: string;
  /** sys.prefix != sys.base_prefix */
  venv: boolean;
  prefix: string;
  /** Folders to mount read-only so that the interpreter and its packages work. */
  mounts: string[];
  ipython: boolean;
  ipykernel: boolean;
}

const PROBE = `import sys, json, site, os, importlib.util as u
def sp():
    try: return site.getsitepackages()
    except Exception: return []
print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0], "prefix": sys.prefix,
  "base_prefix": sys.base_prefix, "exec_prefix": sys.exec_prefix, "base_exec_prefix": sys.base_exec_prefix,
  "site": sp(), "path": [p for p in sys.path if p and os.path.isdir(p)],
  "ipython": u.find_spec("IPython") is not None, "ipykernel": u.find_spec("ipykernel") is not None}))`;

/** Folders the sandbox already has (read-only system). */
const SYSTEM = ['/usr', '/bin', '/lib', '/lib64', '/lib32', '/sbin', '/etc'];
const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

const cache = new Map<string, { key: string; it: Interpreter }>();

/** `python3` on PATH (the fallback after the user's selection and the setting). */
export function pythonOnPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'python3');
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/** The interpreter when nothing was chosen: the system's python3, else python3 on PATH. */
export function defaultPython(): string {
  if (fs.existsSync('/usr/bin/python3')) return '/usr/bin/python3';
  const p = pythonOnPath();
  if (!p) throw new ToolError('No Python interpreter was found (no /usr/bin/python3, no python3 on PATH). Install python3 (apt-get install python3 python3-pandas python3-ipykernel), or select an interpreter (VS Code: "Python: Select Interpreter", setting datatools.python.interpreter; MCP: DATATOOLS_PYTHON).');
  return p;
}

export function describeInterpreter(requested: string): Interpreter {
  let st: fs.Stats;
  try { st = fs.statSync(requested); } catch {
    throw new ToolError(`The Python interpreter ${requested} does not exist. Select another one (VS Code: "Python: Select Interpreter" or the setting datatools.python.interpreter; MCP: DATATOOLS_PYTHON).`);
  }
  const key = `${st.mtimeMs}:${st.ino}`;
  const hit = cache.get(requested);
  if (hit && hit.key === key) return hit.it;
  // -s: no user site, as inside the sandbox (its home is empty); -E: none of the caller's PYTHON* variables
  const r = spawnSync(requested, ['-s', '-E', '-c', PROBE], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ');
    throw new ToolError(`The Python interpreter ${requested} could not be started (${why}). Select another one (VS Code: "Python: Select Interpreter" or the setting datatools.python.interpreter; MCP: DATATOOLS_PYTHON).`);
  }
  const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as { executable: string; version: string; prefix: string; base_prefix: string; exec_prefix: string; base_exec_prefix: string; site: string[]; path: string[]; ipython: boolean; ipykernel: boolean };
  const candidates = [p.prefix, p.base_prefix, p.exec_prefix, p.base_exec_prefix, path.dirname(p.executable), ...p.site, ...p.path];
  try { candidates.push(path.dirname(fs.realpathSync(p.executable))); } catch { /* reported when it runs */ }
  // a venv's pyvenv.cfg names the interpreter it was made from
  const cfg = (() => { try { return fs.readFileSync(path.join(p.prefix, 'pyvenv.cfg'), 'utf8'); } catch { return ''; } })();
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
  if (home) candidates.push(home, path.dirname(home));
  const real = [...new Set(candidates.filter(c => c && path.isAbsolute(c)).map(c => { try { return fs.realpathSync(c); } catch { return ''; } }))]
    // never a top-level folder or a home itself (a .pth naming ~ must not expose the whole home)
    .filter(c => c && c.split('/').filter(Boolean).length >= 2 && c !== os.homedir() && !SYSTEM.some(s => inside(c, s)) && fs.statSync(c).isDirectory());
  const mounts = real.filter(c => !real.some(o => o !== c && inside(c, o))).sort();
  const it: Interpreter = { requested, executable: p.executable, version: p.version, venv: p.prefix !== p.base_prefix, prefix: p.prefix, mounts, ipython: p.ipython, ipykernel: p.ipykernel };
  cache.set(requested, { key, it });
  return it;
}

/** What to install when the interpreter lacks what the kernel needs, for a model or a person. */
export function kernelDependencyMessage(it: Interpreter): string | undefined {
  if (it.ipython) return undefined;
  return `IPython is not installed in ${it.executable} (Python ${it.version}), so execute_code runs cells with plain exec (no magics, no rich display). Install it in that environment: \`${it.executable} -m pip install ipykernel\`${it.venv ? '' : ' (or apt-get install python3-ipykernel for the system Python)'}.`;
}

/** The per-workspace venv that the host made itself (`python -m venv --system-site-packages` from `base`),
 *  described without running anything in it: install_package's pip writes into it from inside the sandbox, so its
 *  bin/python, pyvenv.cfg and .pth files are never executed or read on the host. It runs inside the sandbox only. */
export function venvInterpreter(venvDir: string, base: Interpreter): Interpreter {
  return { requested: path.join(venvDir, 'bin', 'python'), executable: path.join(venvDir, 'bin', 'python'), version: base.version,
    venv: true, prefix: venvDir, mounts: [...base.mounts, venvDir], ipython: base.ipython, ipykernel: base.ipykernel };
}

const insideAnyRoot = (p: string, roots: string[]) => roots.some(r => inside(p, r));
const realOrSelf = (p: string) => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };

/** Whether an interpreter lies where sandboxed code may have written (inside a data root): the path chosen, the
 *  file it resolves to, or its environment's folder (a workspace .venv: its pyvenv.cfg and site-packages .pth files
 *  run when Python starts). Such an interpreter never runs on the host. */
export function interpreterInRoots(requested: string, roots: string[]): boolean {
  const real = roots.map(realOrSelf);
  const prefix = path.dirname(path.dirname(path.resolve(requested)));
  return [path.resolve(requested), realOrSelf(requested), prefix, realOrSelf(prefix)].some(p => insideAnyRoot(p, real) || insideAnyRoot(p, roots));
}

/** An interpreter inside a data root, described without running it on the host: what its environment needs from
 *  outside the roots comes from the `home` of its pyvenv.cfg (read as text), and only when that names a Python
 *  installation outside the roots, which is then probed as any interpreter outside the roots is. The rest (its
 *  packages, IPython) is seen by the kernel inside the sandbox. */
export function describeInRoots(requested: string, roots: string[]): Interpreter {
  const exe = path.resolve(requested);
  if (!fs.existsSync(exe)) {
    throw new ToolError(`The Python interpreter ${requested} does not exist. Select another one (VS Code: "Python: Select Interpreter" or the setting datatools.python.interpreter; MCP: DATATOOLS_PYTHON).`);
  }
  const prefix = path.dirname(path.dirname(exe));
  let cfg = '';
  try {
    const fd = fs.openSync(path.join(prefix, 'pyvenv.cfg'), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try { if (fs.fstatSync(fd).isFile()) cfg = fs.readFileSync(fd, 'utf8').slice(0, 64 * 1024); } finally { fs.closeSync(fd); }
  } catch { /* not a venv */ }
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
  let base: Interpreter | undefined;
  if (home && path.isAbsolute(home) && !interpreterInRoots(path.join(home, 'python3'), roots)) {
    const candidate = ['python3', 'python'].map(n => path.join(home, n)).find(p => { try { return fs.statSync(p).isFile(); } catch { return false; } });
    if (candidate) { try { base = describeInterpreter(candidate); } catch { /* said when the sandbox starts */ } }
  }
  const version = /^version(?:_info)?\s*=\s*([0-9][0-9.]*)/m.exec(cfg)?.[1] ?? base?.version ?? 'unknown';
  return { requested, executable: exe, version, venv: !!cfg, prefix, mounts: base?.mounts ?? [],
    // unknown until the kernel starts inside the sandbox (it reports whether IPython imported)
    ipython: true, ipykernel: true };
}
