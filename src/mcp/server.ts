import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
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
  if (tables.length) out.structuredContent = { tables };
  return out;
}
