/** Scripts and pip run from inside a kernel (E2B, Jupyter): the Python snippet each backend sends, and how its output
 *  is split from the exit code it prints last. One definition for both backends; names are `_dt_`-prefixed and
 *  deleted afterwards so the user's namespace is left as it was. */
import { FIGURE_BACKEND, SCRIPT_PRELUDE } from './local';
import type { Execution, ScriptRun } from './types';

const EXIT_MARK = '__datatools_exit__';

/** Runs `remote` as `python remote args...` in `cwd` (a path on the kernel's machine); figures the script shows or
 *  leaves open are saved by the same hook as on the local sandbox and displayed by the kernel as PNG results.
 *  An interrupt (timeout) raises KeyboardInterrupt in subprocess.run, which kills the script. */
export function scriptCode(remote: string, args: string[], cwd: string): string {
  return `import subprocess as _dt_sp, sys as _dt_sys, os as _dt_os, tempfile as _dt_tf, shutil as _dt_sh
_dt_fd = _dt_tf.mkdtemp(prefix="datatools-figures-")
try:
    _dt_r = _dt_sp.run([_dt_sys.executable, "-c", ${JSON.stringify(SCRIPT_PRELUDE)}, ${JSON.stringify(remote)}, *${JSON.stringify(args)}], capture_output=True, text=True, cwd=${JSON.stringify(cwd)},
        env={**_dt_os.environ, "MPLBACKEND": "module://${FIGURE_BACKEND}", "DATATOOLS_FIGURE_DIR": _dt_fd})
    _dt_sys.stderr.write(_dt_r.stderr)
    _dt_sys.stdout.write(_dt_r.stdout)
    from IPython.display import display as _dt_display, Image as _dt_Image
    for _dt_f in sorted(_dt_os.listdir(_dt_fd)):
        with open(_dt_os.path.join(_dt_fd, _dt_f), "rb") as _dt_h: _dt_display(_dt_Image(data=_dt_h.read(), format="png"))
    print("\\n${EXIT_MARK}", _dt_r.returncode)
finally:
    _dt_sh.rmtree(_dt_fd, ignore_errors=True)
del _dt_sp, _dt_sys, _dt_os, _dt_tf, _dt_sh, _dt_fd, _dt_r`;
}

/** pip of the kernel's own interpreter (as `%pip install` does); importable at once. */
export function pipCode(packages: string[]): string {
  return `import subprocess as _dt_sp, sys as _dt_sys, importlib as _dt_il
_dt_r = _dt_sp.run([_dt_sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *${JSON.stringify(packages)}], capture_output=True, text=True)
_dt_il.invalidate_caches()
_dt_sys.stderr.write(_dt_r.stderr)
_dt_sys.stdout.write(_dt_r.stdout)
print("\\n${EXIT_MARK}", _dt_r.returncode)
del _dt_sp, _dt_sys, _dt_il, _dt_r`;
}

/** The script run a kernel execution of scriptCode/pipCode amounts to: output split from the exit marker. */
export function scriptRunOf(ex: Execution, started: number, timedOut: boolean): ScriptRun {
  const m = new RegExp(`\\n?${EXIT_MARK} (-?\\d+)\\s*$`).exec(ex.stdout);
  const stdout = m ? ex.stdout.slice(0, m.index) : ex.stdout;
  const exitCode = m ? Number(m[1]) : ex.error ? 1 : null;
  const stderr = ex.stderr + (ex.error && !timedOut ? `${ex.error.name}: ${ex.error.value}\n${ex.error.traceback}` : '');
  const figures = ex.results.map(r => r.png).filter((p): p is string => !!p);
  return { stdout, stderr, exitCode, durationMs: Math.round(performance.now() - started), timedOut, droppedBytes: ex.droppedBytes, ...(figures.length ? { figures } : {}) };
}
