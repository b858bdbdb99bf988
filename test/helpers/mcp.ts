import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import * as path from 'node:path';
import * as fs from 'node:fs';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const MCP_JS = path.join(ROOT, 'dist', 'mcp.js');

/** Spawns the real bundled server (dist/mcp.js) with the real client SDK. */
export async function connectMcp(env: Record<string, string>): Promise<{ client: Client; transport: StdioClientTransport; close: () => Promise<void>; stderr: () => string; pid: number | null }> {
  if (!fs.existsSync(MCP_JS)) throw new Error(`${MCP_JS} is missing: run "npm run build" first (npm test does).`);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_JS],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}), ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'datatools-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport, close: () => client.close(), stderr: () => err, pid: transport.pid };
}

/** Sends one raw JSON-RPC line (which the client SDK could not serialize, e.g. nested too deeply for JSON.stringify)
 *  and resolves with the server's answer to `id`. */
export function rawRequest(transport: StdioClientTransport, line: string, id: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const prev = transport.onmessage;
    transport.onmessage = m => {
      if ((m as { id?: unknown }).id === id) { transport.onmessage = prev; resolve(m as Record<string, unknown>); } else prev?.(m);
    };
    const stdin = (transport as unknown as { _process?: { stdin: NodeJS.WritableStream } })._process?.stdin;
    if (!stdin) { reject(new Error('the transport has no process')); return; }
    stdin.write(`${line}\n`);
  });
}

/** A process's peak resident memory (VmHWM from /proc/<pid>/status), MB. */
export function peakMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(require('node:os').tmpdir(), `dt-${prefix}-`));
}
