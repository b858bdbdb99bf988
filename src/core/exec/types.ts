import type { Disposable } from '../services';

/** One rich output, shaped like a Jupyter/E2B result: a mime bundle. */
export interface RichResult {
  isMainResult: boolean;
  text?: string;
  html?: string;
  png?: string;
  jpeg?: string;
  svg?: string;
  json?: unknown;
  table?: { columns: { name: string; type: string }[]; rows: unknown[][]; totalRows: number; truncated: boolean };
}

export interface ExecutionError { name: string; value: string; traceback: string }

/** The result model of both backends, after E2B's `Execution`. */
export interface Execution {
  stdout: string;
  stderr: string;
  results: RichResult[];
  error?: ExecutionError;
  executionCount?: number;
  durationMs: number;
  /** Bytes of output dropped past the cap. */
  droppedBytes: number;
  /** Set when the session was restarted by this call (timeout, memory): its state is gone. */
  restarted?: string;
}

export interface ScriptRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
  droppedBytes: number;
  /** A limit the run hit (memory, processes, a size cap), said plainly. */
  note?: string;
  /** PNG figures (base64) the script showed with plt.show() or left open at exit, in order. */
  figures?: string[];
}

export interface EnvironmentInfo {
  backend: 'local' | 'e2b' | 'jupyter';
  isolation: string;
  python: string;
  packages: Record<string, string | null>;
  network: string;
  /** The interpreter and where it was chosen (local backend). */
  interpreter?: string;
  /** The working directory of execute_code. */
  cwd?: string;
  /** Each wall and limit and how it is enforced (memory, processes, tmp, home, user, seccomp). */
  walls?: Record<string, string>;
  /** Things to fix, e.g. a missing kernel dependency and what to install. */
  notes?: string[];
}

export interface ExecutionBackend extends Disposable {
  readonly name: 'local' | 'e2b' | 'jupyter';
  execute(code: string, o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<Execution>;
  runScript(file: string, args: string[], o: { timeoutMs: number; signal: AbortSignal; onStream?: (name: 'stdout' | 'stderr', text: string) => void }): Promise<ScriptRun>;
  /** pip install into the session's environment; the new packages are importable in the running session. */
  install(packages: string[], o: { timeoutMs: number; signal: AbortSignal }): Promise<ScriptRun>;
  environment(): Promise<EnvironmentInfo>;
  restart(): Promise<void>;
}

/** Python that prints {python, packages} as one JSON line: the same probe for every backend. */
export const ENVIRONMENT_PROBE = `import sys, json, importlib.metadata as m
def v(n):
    try: return m.version(n)
    except Exception: return None
print(json.dumps({"python": sys.version.split()[0], "packages": {n: v(n) for n in ["pandas","numpy","matplotlib","scikit-learn","scipy","ipython","pyarrow","polars","seaborn","statsmodels"]}}))`;
