import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, type CallToolResult, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import type { OversizedMessage } from './transport';
import type { CallResult, ToolHost } from '../core/host';
import { toolSchema } from '../core/host';
import { rowsToJson } from '../core/values';

export const SERVER_NAME = 'datatools';

/** An MCP server over the shared catalog: it lists only the role's tools and calls them through the host. */
export function createMcpServer(host: ToolHost, version: string): Server {
  const server = new Server({ name: SERVER_NAME, version }, {
    capabilities: { tools: {} },
    instructions: `Data tools for a ${host.config.role.replace('_', ' ')}: read-only SQL on PostgreSQL, Python in a sandbox, `
      + 'data files (local and S3). Results are compact; whole results can be saved to files for Python.',
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: host.available().map(t => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: toolSchema(t) as { type: 'object' },
      annotations: { title: t.title, readOnlyHint: t.readOnly, destructiveHint: !t.readOnly && t.capability === 'files.write', openWorldHint: false },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const r = await host.call(req.params.name, req.params.arguments ?? {}, { caller: 'mcp', signal: extra.signal });
    return toMcpResult(r);
  });
  return server;
}

export function toMcpResult(r: CallResult): CallToolResult {
  const content: CallToolResult['content'] = [{ type: 'text', text: r.text }];
  const tables: unknown[] = [];
  for (const p of r.parts) {
    if (p.kind === 'image' && p.mimeType !== 'image/svg+xml') content.push({ type: 'image', data: p.data, mimeType: p.mimeType });
    else if (p.kind === 'table') tables.push({ title: p.title, columns: p.columns, rows: rowsToJson(p.rows, p.columns), totalRows: p.totalRows, truncated: p.truncated });
  }
  const out: CallToolResult = { content, isError: r.isError ? true : undefined };
  if (tables.length) {
    // the host bounds the data (DATATOOLS_REPLY_STRUCTURED_BYTES); this is the last guard under the transport's limit
    const size = JSON.stringify({ tables }).length;
    if (size > 8 * 1024 * 1024) content[0] = { type: 'text', text: `${r.text}\n[The structured data (${size.toLocaleString('en-US')} bytes) is left out: over the reply limit.]` };
    else out.structuredContent = { tables };
  }
  return out;
}

/** The answer to a request line too large to read: a tool error for tools/call (with an audit line), a JSON-RPC
 *  error for anything else with an id; notifications get nothing. */
export function oversizedReply(host: ToolHost, m: OversizedMessage, limit: number, send: (msg: JSONRPCMessage) => void): void {
  const size = `${m.bytes.toLocaleString('en-US')}+ bytes`;
  const text = `The request${m.tool ? ` to \`${m.tool}\`` : ''} is ${size}, over the ${limit.toLocaleString('en-US')}-byte limit on one request `
    + '(DATATOOLS_MAX_REQUEST_BYTES, doubled for JSON escaping); it was not read. Send large data in pieces, or produce it where it is used '
    + '(e.g. write big files from execute_code, or save query results with save_as).';
  if (m.method === 'tools/call' || m.tool) {
    host.audit.record({ time: new Date().toISOString(), id: randomUUID(), role: host.config.role, caller: 'mcp', tool: m.tool ?? '(unknown)',
      input: { refusedRequest: true, approxBytes: m.bytes, limitBytes: limit }, outcome: 'refused', error: text, durationMs: 0 });
  }
  if (m.id === undefined) return;
  if (m.method === 'tools/call') send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text }], isError: true } });
  else send({ jsonrpc: '2.0', id: m.id, error: { code: ErrorCode.InvalidRequest, message: text } });
}
