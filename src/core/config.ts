import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROLES = ['data_scientist', 'data_engineer', 'ml_engineer'] as const;
export type Role = (typeof ROLES)[number];
export const EXECUTORS = ['local', 'e2b', 'jupyter'] as const;
export type Executor = (typeof EXECUTORS)[number];

export interface Limits {
  /** Wall-clock limit of one code execution, seconds. */
  codeTimeoutSec: number;
  /** Address-space limit of the Python sandbox, megabytes. */
  memoryMb: number;
  /** Statement timeout of one query, seconds. */
  queryTimeoutSec: number;
  /** Most rows a query returns. */
  maxRows: number;
  /** Largest file read or written, bytes. */
  maxFileBytes: number;
  /** Most characters of model text in one tool reply (everything past it is cut, and the reply says so). */
  replyTextChars: number;
  /** Most bytes of structured data (MCP structuredContent: table rows, JSON) in one tool reply. */
  replyStructuredBytes: number;
  /** Largest tool request (its arguments), bytes; bigger ones are refused with a tool error. Over MCP it is counted on
   *  the wire (the request's JSON text, so escapes and UTF-8 count), and a bigger request is dropped unread. */
  maxRequestBytes: number;
  /** Bytes of stored results held in memory (beyond it results are spilled to <workDir>/.results), megabytes. */
  resultMemoryMb: number;
  /** Bytes of spilled results on disk, megabytes; the oldest results are dropped past it. */
  resultDiskMb: number;
  /** A stored result unused this long is dropped, seconds. */
  resultIdleSeconds: number;
  /** Rows of each table inlined in an MCP reply's structuredContent (the rest is paged from the result id). */
  mcpInlineRows: number;
  /** Largest single row a query may bring back, megabytes (counted on the wire, before it is read into memory);
   *  a larger row stops the query with an error. */
  maxRowMb: number;
  /** Most bytes one code run may add to the data roots' file systems (net), and the largest file it may write
   *  anywhere, megabytes; see exec/quota.ts. */
  sandboxWriteMb: number;
  /** Most bytes one query result may bring back, megabytes; the rows stop there and the reply says so. */
  maxResultMb: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  codeTimeoutSec: 60,
  memoryMb: 2048,
  queryTimeoutSec: 30,
  maxRows: 10_000,
  maxFileBytes: 100 * 1024 * 1024,
  replyTextChars: 20_000,
  replyStructuredBytes: 2 * 1024 * 1024,
  maxRequestBytes: 32 * 1024 * 1024,
  resultMemoryMb: 256,
  resultDiskMb: 4096,
  resultIdleSeconds: 3600,
  mcpInlineRows: 100,
  maxRowMb: 64,
  maxResultMb: 256,
  sandboxWriteMb: 10240,
});

export const DEFAULT_DATA_ROOT = '/tmp/agent-data';

export interface S3Config {
  bucket?: string;
  region?: string;
  /** S3-compatible endpoint (AWS_ENDPOINT_URL_S3); path-style addressing is used with it. */
  endpoint?: string;
  /** More allowed buckets besides `bucket`, each "bucket" or "bucket/prefix". */
  extraBuckets: string[];
}

export interface DataToolsConfig {
  role: Role;
  limits: Limits;
  /** Local roots that file tools and the sandbox may touch (absolute paths). */
  allowedPaths: string[];
  /** PostgreSQL connection string; empty means the embedded sample database. */
  databaseUrl?: string;
  /** Named connections (from VS Code settings, passwords from SecretStorage). */
  connections: { name: string; url: string }[];
  /** The connection tools use when none is named: a named one, "default" (DATABASE_URL) or "sample". */
  activeConnection?: string;
  /** Query deny list (function name patterns); an allow list replaces it when set. */
  deniedFunctions?: string[];
  allowedFunctions?: string[];
  executor: Executor;
  /** Secret: only ever held in memory, never written to logs or settings. */
  e2bApiKey?: string;
  /** A Jupyter Server / JupyterHub single-user server / Enterprise Gateway base URL (executor "jupyter"). */
  jupyterUrl?: string;
  /** Secret, like e2bApiKey. */
  jupyterToken?: string;
  /** Kernel spec name on that server; empty means the server's default. */
  jupyterKernel?: string;
  s3: S3Config;
  auditLogPath: string;
  /** Run the local sandbox without bubblewrap isolation (explicit opt-in only). */
  allowUnisolatedSandbox: boolean;
  /** The host's own working folder: saved results (results/), the result store's spill (.results/), the venv and
   *  installed packages. Never inside a data root (the sandbox may write there): by default
   *  ~/.cache/datatools/work/<hash of the first root> (XDG_CACHE_HOME), see defaultWorkDir. */
  workDir: string;
  /** Said once when a configured workDir lay inside a data root and the default was used instead. */
  workDirNote?: string;
  /** Root hosts: the unprivileged host uid of the sandbox's processes (DATATOOLS_SANDBOX_UID); default 60999. */
  sandboxUid?: number;
  /** The per-workspace virtual environment (--system-site-packages) that install_package installs into. */
  venvDir: string;
  /** The user's Python interpreter (VS Code: the Python extension's selection or datatools.python.interpreter;
   *  MCP: DATATOOLS_PYTHON); unset: the system python3 with the per-workspace venv. */
  python?: string;
  /** Where python came from, for get_environment. */
  pythonSource?: string;
  /** The working directory of execute_code: the workspace folder (MCP: DATATOOLS_WORKSPACE); default the first root. */
  workspaceDir?: string;
}

export class ConfigError extends Error {}

/** A number from the environment. `name` may list a former name after the current one (read when the current one is
 *  not set): the timeouts were once named without their unit. */
function num(env: NodeJS.ProcessEnv, names: string | [string, string], fallback: number, min: number, max: number): number {
  const [current, former] = typeof names === 'string' ? [names, undefined] : names;
  const name = env[current] === undefined && former !== undefined && env[former] !== undefined ? former : current;
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a number between ${min} and ${max}`);
  }
  return v;
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export function defaultAuditLogPath(): string {
  return path.join(os.homedir(), '.datatools', 'audit.jsonl');
}

const insideAny = (p: string, roots: string[]) => roots.some(r => p === r || p.startsWith(r.endsWith('/') ? r : `${r}/`));
/** The real path of p, or of its nearest existing ancestor joined with the rest (p need not exist yet). */
function realish(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try { return path.join(fs.realpathSync(head), ...tail.reverse()); } catch { /* not there yet */ }
    const up = path.dirname(head);
    if (up === head) return abs;
    tail.push(path.basename(head));
    head = up;
  }
}

/** Whether p lies inside one of the data roots (both compared by real path). */
export function insideDataRoots(p: string, roots: string[]): boolean {
  const real = roots.map(realish);
  return insideAny(realish(p), real) || insideAny(path.resolve(p), roots.map(r => path.resolve(r)));
}

/** The host's working folder for these roots: outside every data root, so that nothing the sandbox writes is
 *  ever run or followed by the host. ~/.cache/datatools/work/<hash> (XDG_CACHE_HOME), else the temp dir's
 *  datatools-<uid>/work/<hash> (the hash of the first root), else /var/tmp's (a root that holds the home and the temp dir). */
export function defaultWorkDir(allowedPaths: string[], env: NodeJS.ProcessEnv = process.env): string {
  const roots = (allowedPaths.length ? allowedPaths : [DEFAULT_DATA_ROOT]).map(p => path.resolve(p));
  const key = crypto.createHash('sha256').update(realish(roots[0])).digest('hex').slice(0, 16);
  const uid = process.getuid?.() ?? 'u';
  const cache = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  const candidates = [path.join(cache, 'datatools', 'work', key), path.join(os.tmpdir(), `datatools-${uid}`, 'work', key), path.join('/var/tmp', `datatools-${uid}`, 'work', key)];
  return candidates.find(c => !insideDataRoots(c, roots)) ?? candidates[candidates.length - 1];
}

function workDirs(partial: Pick<Partial<DataToolsConfig>, 'workDir' | 'venvDir'>, allowedPaths: string[]): Pick<DataToolsConfig, 'workDir' | 'venvDir' | 'workDirNote'> {
  const notes: string[] = [];
  let workDir = partial.workDir ? path.resolve(partial.workDir) : undefined;
  if (workDir && insideDataRoots(workDir, allowedPaths)) {
    notes.push(`the work folder ${workDir} lies inside a data root, where sandboxed code may write; ${defaultWorkDir(allowedPaths)} is used instead`);
    workDir = undefined;
  }
  workDir ??= defaultWorkDir(allowedPaths);
  let venvDir = partial.venvDir ? path.resolve(partial.venvDir) : undefined;
  if (venvDir && insideDataRoots(venvDir, allowedPaths)) {
    notes.push(`the venv folder ${venvDir} lies inside a data root, where sandboxed code may write; ${path.join(workDir, 'venv')} is used instead`);
    venvDir = undefined;
  }
  return { workDir, venvDir: venvDir ?? path.join(workDir, 'venv'), ...(notes.length ? { workDirNote: notes.join('; ') } : {}) };
}

/** Resolves the settings that every front end shares; `overrides` win over the environment. */
export function resolveConfig(partial: Partial<Omit<DataToolsConfig, 'limits'>> & { limits?: Partial<Limits> }): DataToolsConfig {
  const allowedPaths = (partial.allowedPaths?.length ? partial.allowedPaths : [DEFAULT_DATA_ROOT]).map(p => path.resolve(p));
  const e2bApiKey = partial.e2bApiKey || undefined;
  return {
    role: partial.role ?? 'data_scientist',
    limits: { ...DEFAULT_LIMITS, ...stripUndefined(partial.limits ?? {}) },
    allowedPaths,
    databaseUrl: partial.databaseUrl || undefined,
    connections: partial.connections ?? [],
    activeConnection: partial.activeConnection || undefined,
    deniedFunctions: partial.deniedFunctions,
    allowedFunctions: partial.allowedFunctions,
    executor: partial.executor ?? (e2bApiKey ? 'e2b' : 'local'),
    e2bApiKey,
    jupyterUrl: partial.jupyterUrl || undefined,
    jupyterToken: partial.jupyterToken || undefined,
    jupyterKernel: partial.jupyterKernel || undefined,
    s3: partial.s3 ?? { extraBuckets: [] },
    auditLogPath: partial.auditLogPath || defaultAuditLogPath(),
    allowUnisolatedSandbox: partial.allowUnisolatedSandbox ?? false,
    ...workDirs(partial, allowedPaths),
    sandboxUid: partial.sandboxUid || undefined,
    python: partial.python || undefined,
    pythonSource: partial.python ? partial.pythonSource : undefined,
    workspaceDir: partial.workspaceDir ? path.resolve(partial.workspaceDir) : undefined,
  };
}

function safeProtocol(url: string): string {
  try { return new URL(url).protocol; } catch { return ''; }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** DATATOOLS_CONNECTIONS: a JSON array of {name, url} (how VS Code hands named connections to the MCP server). */
function parseConnections(raw: string | undefined): { name: string; url: string }[] {
  if (!raw) return [];
  let v: unknown;
  try { v = JSON.parse(raw); } catch { throw new ConfigError('DATATOOLS_CONNECTIONS is not valid JSON (expected [{"name": ..., "url": ...}])'); }
  if (!Array.isArray(v) || !v.every(c => c && typeof c.name === 'string' && typeof c.url === 'string')) {
    throw new ConfigError('DATATOOLS_CONNECTIONS must be a JSON array of {"name": string, "url": string}');
  }
  return v.map(c => ({ name: c.name, url: c.url }));
}

/** The MCP server's configuration: the seed's variable names plus DATATOOLS_* ones. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): DataToolsConfig {
  const role = env.DATATOOLS_ROLE || 'data_scientist';
  if (!isRole(role)) throw new ConfigError(`DATATOOLS_ROLE=${JSON.stringify(role)} is not one of ${ROLES.join(', ')}`);
  const executor = env.DATATOOLS_EXECUTOR || undefined;
  if (executor !== undefined && !(EXECUTORS as readonly string[]).includes(executor)) {
    throw new ConfigError(`DATATOOLS_EXECUTOR=${JSON.stringify(executor)} is not one of ${EXECUTORS.join(', ')}`);
  }
  const jupyterUrl = env.DATATOOLS_JUPYTER_URL || undefined;
  if (jupyterUrl !== undefined && !/^https?:$/.test(safeProtocol(jupyterUrl))) {
    throw new ConfigError('DATATOOLS_JUPYTER_URL must be an http(s) URL of a Jupyter server, e.g. http://127.0.0.1:8888/');
  }
  if (executor === 'jupyter' && !jupyterUrl) throw new ConfigError('DATATOOLS_EXECUTOR=jupyter needs DATATOOLS_JUPYTER_URL (and usually DATATOOLS_JUPYTER_TOKEN)');
  const allowed = (env.DATATOOLS_ALLOWED_PATHS ?? '').split(path.delimiter).filter(Boolean);
  return resolveConfig({
    role,
    executor: executor as Executor | undefined,
    allowedPaths: allowed,
    databaseUrl: env.DATABASE_URL,
    activeConnection: env.DATATOOLS_CONNECTION,
    connections: parseConnections(env.DATATOOLS_CONNECTIONS),
    e2bApiKey: env.E2B_API_KEY,
    jupyterUrl,
    jupyterToken: env.DATATOOLS_JUPYTER_TOKEN,
    jupyterKernel: env.DATATOOLS_JUPYTER_KERNEL,
    s3: {
      bucket: env.S3_BUCKET || undefined,
      region: env.S3_REGION || env.AWS_REGION || undefined,
      endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
      extraBuckets: (env.DATATOOLS_S3_BUCKETS ?? '').split(',').map(s => s.trim()).filter(Boolean),
    },
    auditLogPath: env.DATATOOLS_AUDIT_LOG,
    allowUnisolatedSandbox: env.DATATOOLS_ALLOW_UNISOLATED === '1',
    workDir: env.DATATOOLS_WORK_DIR,
    venvDir: env.DATATOOLS_VENV_DIR,
    sandboxUid: env.DATATOOLS_SANDBOX_UID ? num(env, 'DATATOOLS_SANDBOX_UID', 0, 1, 4294967294) : undefined,
    python: env.DATATOOLS_PYTHON,
    pythonSource: env.DATATOOLS_PYTHON_SOURCE || 'DATATOOLS_PYTHON',
    workspaceDir: env.DATATOOLS_WORKSPACE,
    limits: {
      codeTimeoutSec: num(env, ['DATATOOLS_CODE_TIMEOUT_SECONDS', 'DATATOOLS_CODE_TIMEOUT'], DEFAULT_LIMITS.codeTimeoutSec, 1, 3600),
      memoryMb: num(env, 'DATATOOLS_MEMORY_MB', DEFAULT_LIMITS.memoryMb, 64, 1 << 20),
      queryTimeoutSec: num(env, ['DATATOOLS_QUERY_TIMEOUT_SECONDS', 'DATATOOLS_QUERY_TIMEOUT'], DEFAULT_LIMITS.queryTimeoutSec, 1, 3600),
      maxRows: num(env, 'DATATOOLS_MAX_ROWS', DEFAULT_LIMITS.maxRows, 1, 10_000_000),
      maxFileBytes: num(env, 'DATATOOLS_MAX_FILE_BYTES', DEFAULT_LIMITS.maxFileBytes, 1, 2 ** 40),
      replyTextChars: num(env, 'DATATOOLS_REPLY_TEXT_CHARS', DEFAULT_LIMITS.replyTextChars, 1000, 1_000_000),
      replyStructuredBytes: num(env, 'DATATOOLS_REPLY_STRUCTURED_BYTES', DEFAULT_LIMITS.replyStructuredBytes, 10_000, 8 * 1024 * 1024),
      maxRequestBytes: num(env, 'DATATOOLS_MAX_REQUEST_BYTES', DEFAULT_LIMITS.maxRequestBytes, 1024, 256 * 1024 * 1024),
      resultMemoryMb: num(env, 'DATATOOLS_RESULT_MEMORY_MB', DEFAULT_LIMITS.resultMemoryMb, 0, 1 << 20),
      resultDiskMb: num(env, 'DATATOOLS_RESULT_DISK_MB', DEFAULT_LIMITS.resultDiskMb, 0, 1 << 24),
      resultIdleSeconds: num(env, 'DATATOOLS_RESULT_IDLE_SECONDS', DEFAULT_LIMITS.resultIdleSeconds, 1, 30 * 86400),
      mcpInlineRows: num(env, 'DATATOOLS_MCP_INLINE_ROWS', DEFAULT_LIMITS.mcpInlineRows, 0, 100_000),
      maxRowMb: num(env, 'DATATOOLS_MAX_ROW_MB', DEFAULT_LIMITS.maxRowMb, 1, 1024),
      maxResultMb: num(env, 'DATATOOLS_MAX_RESULT_MB', DEFAULT_LIMITS.maxResultMb, 1, 16 * 1024),
      sandboxWriteMb: num(env, 'DATATOOLS_SANDBOX_WRITE_MB', DEFAULT_LIMITS.sandboxWriteMb, 1, 1 << 30),
    },
  });
}

/** Every secret the configuration holds, for redaction. */
export function configSecrets(cfg: DataToolsConfig): string[] {
  const out: string[] = [];
  if (cfg.e2bApiKey) out.push(cfg.e2bApiKey);
  if (cfg.jupyterToken) out.push(cfg.jupyterToken);
  if (cfg.jupyterUrl) {
    try { const t = new URL(cfg.jupyterUrl).searchParams.get('token'); if (t) out.push(t); } catch { /* validated elsewhere */ }
  }
  for (const url of [cfg.databaseUrl, ...cfg.connections.map(c => c.url)]) {
    if (!url) continue;
    try {
      const u = new URL(url);
      if (u.password) out.push(decodeURIComponent(u.password), u.password);
    } catch { /* not a URL: nothing to extract */ }
  }
  for (const k of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'PGPASSWORD']) {
    const v = process.env[k];
    if (v) out.push(v);
  }
  return out.filter(s => s.length >= 4);
}

/** Where a plain save_as name is written (any role): the results folder of the host's work folder. */
export function resultsDir(cfg: Pick<DataToolsConfig, 'workDir'>): string {
  return path.join(cfg.workDir, 'results');
}

/** Folders whose files code may read as data: the data roots and the results folder (mounted read-only in the
 *  local sandbox; uploaded when named, by the remote backends). */
export function handoverRoots(cfg: Pick<DataToolsConfig, 'allowedPaths' | 'workDir'>): string[] {
  return [...cfg.allowedPaths, resultsDir(cfg)];
}
