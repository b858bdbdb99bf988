import * as vscode from 'vscode';
import * as fs from 'node:fs';
import { pythonOnPath } from '../core/exec/interpreter';
import { resolveConfig, isRole, type DataToolsConfig, type Executor, type Role } from '../core/config';
import { connectionUrl, readConnectionSettings, secretKey } from './connections';

export const SECTION = 'datatools';
export const E2B_SECRET = 'datatools.e2bApiKey';
export const JUPYTER_SECRET = 'datatools.jupyterToken';

/** Builds the shared configuration from settings, secrets and the extension host's environment. */
export async function readConfig(secrets: vscode.SecretStorage): Promise<DataToolsConfig> {
  const c = vscode.workspace.getConfiguration(SECTION);
  const role = c.get<string>('role');
  const executor = c.get<string>('executor', 'auto');
  const e2bApiKey = (await secrets.get(E2B_SECRET)) || process.env.E2B_API_KEY || undefined;
  const jupyterToken = (await secrets.get(JUPYTER_SECRET)) || process.env.DATATOOLS_JUPYTER_TOKEN || undefined;
  const folders = (vscode.workspace.workspaceFolders ?? []).filter(f => f.uri.scheme === 'file').map(f => f.uri.fsPath);
  const configured = c.get<string[]>('allowedPaths', []).filter(p => typeof p === 'string' && p.trim());
  const mb = c.get<number>('limits.maxFileSizeMb');
  const python = await selectedPython(c);
  const connections = await Promise.all(readConnectionSettings().map(async x => ({ name: x.name, url: connectionUrl(x, await secrets.get(secretKey(x.name))) })));
  return resolveConfig({
    role: isRole(role) ? (role as Role) : 'data_scientist',
    executor: executor === 'local' || executor === 'e2b' || executor === 'jupyter' ? (executor as Executor) : undefined,
    e2bApiKey,
    jupyterUrl: c.get<string>('jupyter.url')?.trim() || process.env.DATATOOLS_JUPYTER_URL || undefined,
    jupyterToken,
    jupyterKernel: c.get<string>('jupyter.kernelName')?.trim() || undefined,
    allowedPaths: [...(configured.length ? configured : ['/tmp/agent-data']), ...folders],
    workspaceDir: folders[0],
    python: python?.path,
    pythonSource: python?.source,
    databaseUrl: process.env.DATABASE_URL,
    connections,
    activeConnection: c.get<string>('activeConnection') || undefined,
    s3: {
      bucket: c.get<string>('s3.bucket') || process.env.S3_BUCKET || undefined,
      region: c.get<string>('s3.region') || process.env.S3_REGION || process.env.AWS_REGION || undefined,
      endpoint: c.get<string>('s3.endpoint') || process.env.AWS_ENDPOINT_URL_S3 || undefined,
      extraBuckets: c.get<string[]>('s3.extraBuckets', []),
    },
    auditLogPath: c.get<string>('auditLog.path') || undefined,
    allowUnisolatedSandbox: c.get<boolean>('sandbox.allowUnisolated', false),
    limits: {
      codeTimeoutSec: c.get<number>('limits.codeTimeoutSeconds'),
      memoryMb: c.get<number>('limits.memoryMb'),
      queryTimeoutSec: c.get<number>('limits.queryTimeoutSeconds'),
      maxRows: c.get<number>('limits.maxRows'),
      maxRowMb: c.get<number>('limits.maxRowMb'),
      maxResultMb: c.get<number>('limits.maxResultMb'),
      maxFileBytes: mb === undefined ? undefined : Math.round(mb * 1024 * 1024),
    } as DataToolsConfig['limits'],
  });
}

/** The Python extension's API, when it is installed (its public environments API; activated on demand). */
export async function pythonExtensionApi(): Promise<{ environments?: PythonEnvironments } | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try { return (ext.isActive ? ext.exports : await ext.activate()) as { environments?: PythonEnvironments }; } catch { return undefined; }
}

interface PythonEnvironments {
  getActiveEnvironmentPath?(resource?: vscode.Uri): { id: string; path: string } | undefined;
  resolveEnvironment?(env: { id: string; path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

/** The interpreter the sandbox runs: the one selected in the Python extension, else the setting
 *  datatools.python.interpreter, else python3 on PATH; undefined when that is the system python3 (which then
 *  runs with the per-workspace venv that install_package installs into). */
async function selectedPython(c: vscode.WorkspaceConfiguration): Promise<{ path: string; source: string } | undefined> {
  const isFile = (p?: string) => { try { return !!p && fs.statSync(p).isFile(); } catch { return false; } };
  try {
    const env = (await pythonExtensionApi())?.environments;
    const active = env?.getActiveEnvironmentPath?.(vscode.workspace.workspaceFolders?.[0]?.uri);
    if (active?.path) {
      const resolved = await env?.resolveEnvironment?.(active).catch(() => undefined);
      const exe = resolved?.executable?.uri?.fsPath ?? active.path;
      if (isFile(exe)) return { path: exe, source: 'selected in the Python extension' };
    }
  } catch { /* the Python extension failed: fall back to the setting */ }
  const configured = c.get<string>('python.interpreter', '').trim();
  if (configured) return { path: configured, source: 'setting datatools.python.interpreter' };
  const onPath = pythonOnPath();
  const real = (p: string) => { try { return fs.realpathSync(p); } catch { return p; } };
  if (onPath && real(onPath) !== real('/usr/bin/python3')) return { path: onPath, source: 'python3 on PATH' };
  return undefined;
}
