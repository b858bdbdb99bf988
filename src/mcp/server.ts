import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema, CompleteRequestSchema, ErrorCode, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema,
  ReadResourceRequestSchema, type CallToolResult, type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { OversizedMessage } from './transport';
import type { CallResult, ToolHost } from '../core/host';
import { toolSchema } from '../core/host';
import { ToolError } from '../core/result';
import { rowsToJson } from '../core/values';
import { LARGE_DATA_HINT, MAX_REQUEST_DEPTH } from '../core/bounds';

export const SERVER_NAME = 'datatools';
export const RESULT_URI = 'datatools://results/';
export const RESULT_TEMPLATE = `${RESULT_URI}{result_id}{?offset,limit}`;
/** Most rows one resources/read of a result returns. */
export const RESOURCE_MAX_LIMIT = 10_000;

/** The structuredContent every tool returns (tables, possibly none): first windows of stored results. */
export const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    tables: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          title: { type: 'string' },
          columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } }, required: ['name', 'type'] } },
          rows: { type: 'array', items: { type: 'array' }, description: 'The first rows (a window); the whole table is the stored result.' },
          result_id: { type: 'string', description: 'Page the whole table with get_result or resources/read datatools://results/<id>?offset=&limit=.' },
          total_rows: { type: ['integer', 'null'], description: 'Rows the source holds where known.' },
          stored_rows: { type: 'integer', description: 'Rows in the stored result.' },
          truncated: { type: 'boolean', description: 'true when rows is not the whole table.' },
          next_offset: { type: ['integer', 'null'], description: 'Offset of the next window in the stored result, or null at its end.' },
          totalRows: { type: 'integer' },
        },
        required: ['columns', 'rows', 'truncated'],
      },
    },
  },
  required: ['tables'],
} as const;

/** A JSON-RPC error as the handler's answer: its code and its message as they are (the SDK's McpError puts
 *  "MCP error -32602:" in front, which the client's own McpError then repeats). */
export function rpcError(code: number, message: string, data?: unknown): Error & { code: number; data?: unknown } {
  return Object.assign(new Error(message), { code, ...(data !== undefined ? { data } : {}) });
}

/** Longest silence of a call that asked for progress. */
export const HEARTBEAT_MS = 5000;

/** Results per resources/list page. */
export const RESOURCES_PAGE = 100;

const LOOSE_CALL = z.object({
  method: z.literal('tools/call'),
  params: z.object({
    name: z.unknown().optional(),
    arguments: z.unknown().optional(),
    _meta: z.object({ progressToken: z.union([z.string(), z.number()]).optional() }).passthrough().optional(),
  }).passthrough(),
}).passthrough();

/** An MCP server over the shared catalog: it lists only the role's tools and calls them through the host. */
export function createMcpServer(host: ToolHost, version: string): Server {
  const server = new Server({ name: SERVER_NAME, version }, {
    capabilities: { tools: {}, resources: {}, completions: {}, logging: {} },
    instructions: `Data tools for a ${host.config.role.replace('_', ' ')}: read-only SQL on PostgreSQL, Python in a sandbox, `
      + 'data files (local and S3). Replies hold the first rows of each table; every table is stored whole under a result id '
      + '(page, sort, filter, describe or save it with get_result, or read datatools://results/<id>).',
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: host.available().map(t => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: toolSchema(t) as { type: 'object' },
      outputSchema: OUTPUT_SCHEMA as unknown as { type: 'object' },
      annotations: (h => ({ title: t.title, readOnlyHint: h.readOnly, destructiveHint: h.destructive, openWorldHint: h.openWorld }))(host.hints(t)),
    })),
  }));

  // registered past the SDK's tools/call wrapper (Protocol's own method): arguments that are not a JSON object get
  // JSON-RPC -32602 with a short message here instead of the SDK's -32603 with a validation dump; arguments that are
  // an object but break the tool's schema stay tool errors (isError) so the model can correct itself
  Protocol.prototype.setRequestHandler.call(server, LOOSE_CALL as unknown as typeof CallToolRequestSchema, async (raw, extra) => {
    const req = raw as unknown as z.infer<typeof LOOSE_CALL>;
    const args = req.params.arguments;
    const name = req.params.name;
    if (typeof name !== 'string' || !name) {
      throw rpcError(ErrorCode.InvalidParams, `Invalid params: "name" must be the tool's name, a string (tools/list names them: ${host.available().map(t => t.name).join(', ')}).`);
    }
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      throw rpcError(ErrorCode.InvalidParams, `Invalid params: "arguments" must be a JSON object of the tool's parameters (got ${args === null ? 'null' : Array.isArray(args) ? 'an array' : `a ${typeof args}`}).`);
    }
    const token = req.params._meta?.progressToken;
    let progress = 0;
    let last = Date.now();
    const onProgress = token === undefined ? undefined : (e: { kind: string; text: string }) => {
      progress++;
      last = Date.now();
      void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, message: `${e.kind}: ${e.text}`.slice(0, 1000) } }).catch(() => undefined);
    };
    // silent work still shows it is alive: a progress notification at least every HEARTBEAT_MS, so a client's request
    // timeout (60 s by default in the SDK, when it resets on progress) and hosts' limits are not hit by a quiet cell
    const t0 = Date.now();
    const beat = token === undefined ? undefined : setInterval(() => {
      if (Date.now() - last < HEARTBEAT_MS - 100) return;
      onProgress!({ kind: 'running', text: `${name} still running after ${Math.round((Date.now() - t0) / 1000)} s` });
    }, HEARTBEAT_MS / 2);
    let r;
    try {
      r = await host.call(name, args ?? {}, { caller: 'mcp', signal: extra.signal, onProgress });
    } finally { if (beat) clearInterval(beat); }
    // a tool the catalog does not have is a protocol error (-32602, as the specification says), after its audit line;
    // a tool the role lacks stays a tool error that names the roles that have it
    if (!host.find(name)) throw rpcError(ErrorCode.InvalidParams, r.text);
    return toMcpResult(r);
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [{
      uriTemplate: RESULT_TEMPLATE,
      name: 'result',
      title: 'Stored result',
      description: 'A table a tool produced, as JSON: {result_id, columns, rows, offset, total_rows, next_offset}. Pages of up to '
        + `${RESOURCE_MAX_LIMIT.toLocaleString('en-US')} rows (default 100).`,
      mimeType: 'application/json',
    }],
  }));

  // pages of RESOURCES_PAGE, most recently used first; the cursor is the offset of the next page (opaque to clients)
  server.setRequestHandler(ListResourcesRequestSchema, async req => {
    const all = host.results.list();
    const cursor = req.params?.cursor;
    let start = 0;
    if (cursor !== undefined) {
      const m = /^o(\d{1,9})$/.exec(cursor);
      if (!m || Number(m[1]) > all.length) throw rpcError(ErrorCode.InvalidParams, 'Invalid params: unknown cursor; pass the nextCursor of the previous resources/list page, or none for the first page.');
      start = Number(m[1]);
    }
    const page = all.slice(start, start + RESOURCES_PAGE);
    return {
      resources: page.map(i => ({
        uri: `${RESULT_URI}${i.id}`, name: i.id, title: `${i.tool}: ${i.rows.toLocaleString('en-US')} rows${i.title ? ` (${i.title.slice(0, 80)})` : ''}`, mimeType: 'application/json',
      })),
      ...(start + RESOURCES_PAGE < all.length ? { nextCursor: `o${start + RESOURCES_PAGE}` } : {}),
    };
  });

  // completion/complete: result ids for the result template's result_id
  server.setRequestHandler(CompleteRequestSchema, async req => {
    const ref = req.params.ref as { type: string; uri?: string; name?: string };
    if (ref.type !== 'ref/resource' || ref.uri !== RESULT_TEMPLATE || req.params.argument.name !== 'result_id') {
      return { completion: { values: [], total: 0, hasMore: false } };
    }
    const prefix = req.params.argument.value ?? '';
    const ids = host.results.list().map(i => i.id).filter(id => id.startsWith(prefix));
    return { completion: { values: ids.slice(0, 100), total: ids.length, hasMore: ids.length > 100 } };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async req => {
    const { id, offset, limit } = parseResultUri(req.params.uri);
    try {
      const p = await host.results.page(id, { offset, limit });
      const next = p.offset + p.rows.length < p.total ? p.offset + p.rows.length : null;
      const body = { result_id: id, columns: p.columns, rows: rowsToJson(p.rows, p.columns), offset: p.offset, total_rows: p.total, next_offset: next };
      return { contents: [{ uri: req.params.uri, mimeType: 'application/json', text: JSON.stringify(body) }] };
    } catch (e) {
      if (e instanceof ToolError) throw rpcError(-32002, e.message, { uri: req.params.uri });
      throw e;
    }
  });
  // what the server does, for the client's log: the session's start (role, tools)
  server.oninitialized = () => {
    void server.sendLoggingMessage({ level: 'info', logger: SERVER_NAME, data: `session started: role ${host.config.role}, ${host.available().length} tools` }).catch(() => undefined);
  };
  return server;
}

/** datatools://results/<id>[?offset=N&limit=M] */
export function parseResultUri(uri: string): { id: string; offset: number; limit: number } {
  const bad = (why: string) => rpcError(ErrorCode.InvalidParams, `${why}: expected ${RESULT_URI}<result_id>?offset=0&limit=100`);
  if (!uri.startsWith(RESULT_URI)) throw bad(`Unknown resource ${uri.slice(0, 200)}`);
  const rest = uri.slice(RESULT_URI.length);
  const q = rest.indexOf('?');
  let id: string;
  try { id = decodeURIComponent(q < 0 ? rest : rest.slice(0, q)); } catch {
    throw bad('The result id has a malformed % escape (each % must be followed by two hex digits)');
  }
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const int = (name: string, fallback: number, max: number) => {
    const v = params.get(name);
    if (v === null || v === '') return fallback;
    if (!/^\d+$/.test(v)) throw bad(`${name}=${v.slice(0, 20)} is not a whole number`);
    return Math.min(Number(v), max);
  };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw bad('Malformed result id');
  return { id, offset: int('offset', 0, Number.MAX_SAFE_INTEGER), limit: int('limit', 100, RESOURCE_MAX_LIMIT) };
}

export function toMcpResult(r: CallResult): CallToolResult {
  const content: CallToolResult['content'] = [{ type: 'text', text: r.text }];
  const tables: Record<string, unknown>[] = [];
  for (const p of r.parts) {
    if (p.kind === 'image') content.push({ type: 'image', data: p.data, mimeType: p.mimeType });
    else if (p.kind === 'table') {
      const stored = p.storedRows;
      const end = (p.offset ?? 0) + p.rows.length;
      const size = p.offset !== undefined ? p.totalRows : stored;
      const next = p.resultId && size !== undefined && end < size ? end : null;
      tables.push({
        title: p.title, columns: p.columns, rows: rowsToJson(p.rows, p.columns),
        ...(p.resultId ? { result_id: p.resultId, stored_rows: stored, next_offset: next } : {}),
        total_rows: p.totalRows ?? null, totalRows: p.totalRows, truncated: p.truncated,
      });
      if (p.resultId) {
        content.push({ type: 'resource_link', uri: `${RESULT_URI}${p.resultId}`, name: p.resultId, mimeType: 'application/json',
          description: `The whole table (${(stored ?? p.rows.length).toLocaleString('en-US')} rows) as JSON pages: append ?offset=&limit=.` });
      }
    }
  }
  const out: CallToolResult = { content, isError: r.isError ? true : undefined };
  if (r.isError) return out;
  // the host bounds the data (DATATOOLS_REPLY_STRUCTURED_BYTES); this is the last guard under the transport's limit
  const size = JSON.stringify({ tables }).length;
  if (size > 8 * 1024 * 1024) {
    content[0] = { type: 'text', text: `${r.text}\n[The structured data (${size.toLocaleString('en-US')} bytes) is left out: over the reply limit.]` };
    out.structuredContent = { tables: [] };
  } else out.structuredContent = { tables };
  return out;
}

/** Levels of a JSON-RPC request around a tool's arguments ({ params: { arguments: { … } } }), with room to spare. */
export const ENVELOPE_DEPTH = 8;

/** The answer to a request line too large to read, or nested too deeply to parse: a tool error for tools/call (with an
 *  audit line), a JSON-RPC error for anything else with an id; notifications get nothing. */
export function oversizedReply(host: ToolHost, m: OversizedMessage, limit: number, send: (msg: JSONRPCMessage) => void): void {
  const size = `${m.bytes.toLocaleString('en-US')}${m.deeperThan ? '' : '+'} bytes`;
  const text = m.deeperThan
    ? `The ${m.tool ? `arguments of \`${m.tool}\`` : 'request'} are nested more than ${MAX_REQUEST_DEPTH} levels deep; the request was refused `
      + "unread. Send flat arguments as the tool's schema describes."
    : `The request${m.tool ? ` to \`${m.tool}\`` : ''} is ${size}, over the ${limit.toLocaleString('en-US')}-byte limit on one request `
      + `(DATATOOLS_MAX_REQUEST_BYTES, counted as sent, in JSON); it was not read. ${LARGE_DATA_HINT}`;
  if (m.method === 'tools/call' || m.tool) {
    host.audit.record({ time: new Date().toISOString(), id: randomUUID(), role: host.config.role, caller: 'mcp', tool: m.tool ?? '(unknown)',
      input: { refusedRequest: true, approxBytes: m.bytes, ...(m.deeperThan ? { nestedDeeperThan: MAX_REQUEST_DEPTH } : { limitBytes: limit }) },
      outcome: 'refused', error: text, durationMs: 0 });
  }
  if (m.id === undefined) return;
  if (m.method === 'tools/call') send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text }], isError: true } });
  else send({ jsonrpc: '2.0', id: m.id, error: { code: ErrorCode.InvalidRequest, message: text } });
}
