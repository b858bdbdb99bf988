import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { deserializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The JSON-RPC error for a message that is not JSON or not a valid JSON-RPC message (-32700 / -32600), or undefined
 *  when it is valid or cannot be answered (a malformed notification has no id to answer). */
export function invalidMessageReply(parsed: { json: unknown } | 'not json'): JSONRPCMessage | undefined {
  const err = (id: string | number | null, code: number, message: string) => ({ jsonrpc: '2.0', id, error: { code, message } }) as unknown as JSONRPCMessage;
  if (parsed === 'not json') return err(null, -32700, 'Parse error: the message is not JSON.');
  const m = parsed.json;
  if (Array.isArray(m)) return err(null, -32600, 'Invalid Request: this server does not accept JSON-RPC batches (MCP allowed them only in revision 2025-03-26 and removed them in 2025-06-18), whatever protocol version the session negotiated; send each message in a request of its own.');
  if (JSONRPCMessageSchema.safeParse(m).success) return undefined;
  if (!m || typeof m !== 'object') return err(null, -32600, 'Invalid Request: a JSON-RPC message is an object.');
  const o = m as Record<string, unknown>;
  const id = typeof o.id === 'string' || (typeof o.id === 'number' && Number.isFinite(o.id)) ? o.id : undefined;
  if (id === undefined && !('id' in o)) return undefined; // a notification: nothing to answer
  const why = o.jsonrpc !== '2.0' ? `"jsonrpc" must be "2.0" (got ${JSON.stringify(o.jsonrpc) ?? 'nothing'})`
    : typeof o.method !== 'string' ? '"method" must be a string'
      : 'params' in o && (o.params === null || typeof o.params !== 'object' || Array.isArray(o.params)) ? '"params" must be an object'
        : id === undefined ? '"id" must be a string or a number' : 'it is not a JSON-RPC 2.0 request';
  return err(id ?? null, -32600, `Invalid Request: ${why}.`);
}

/** What is known of a request line that was over the size limit: its first and last bytes and its size. */
export interface OversizedMessage {
  bytes: number;
  /** Refused for its nesting, not its size: it is nested deeper than this many levels (the JSON-RPC envelope counted). */
  deeperThan?: number;
  id?: string | number;
  method?: string;
  tool?: string;
}

const EDGE = 4096;

/** How deep a line's JSON is nested, counted by its brackets outside strings, without parsing it; stops as soon as it
 *  passes `max`. Parsing a million nested arrays costs the server over 100 MB; this scan costs nothing. */
export function nestingDepth(b: Buffer, max: number): number {
  let d = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) { if (++d > deepest) { deepest = d; if (d > max) return d; } }
    else if (c === 125 || c === 93) d--;
  }
  return deepest;
}

/** Splits stdin into lines like the SDK's ReadBuffer, but without its 10 MB cliff (past which the SDK closes the
 *  session) and without copying the whole buffer on every chunk: a line over `maxBytes` is dropped as it streams
 *  in (memory stays at `maxBytes`: its pieces are let go the moment it is over, never joined) and reported with what
 *  its first and last bytes say (id, method, tool). A line within the limit is joined once and parsed as usual. */
export class BoundedReadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropping?: { head: Buffer; tail: Buffer; bytes: number };
  private ready: (Buffer | OversizedMessage)[] = [];

  /** `maxDepth`: deepest nesting of a line's JSON (brackets) that is parsed; a deeper line is refused unparsed. */
  constructor(private maxBytes: number, private maxDepth = Number.MAX_SAFE_INTEGER) {}

  append(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.dropping) {
        this.dropping.bytes += piece.length;
        this.dropping.tail = lastBytes([this.dropping.tail, piece]);
      } else if (this.size + piece.length > this.maxBytes) {
        // over the limit: keep the first and last bytes (small copies) and let every piece go
        this.dropping = { head: firstBytes([...this.chunks, piece]), tail: lastBytes([...this.chunks, piece]), bytes: this.size + piece.length };
        this.chunks = []; this.size = 0;
      } else if (piece.length) {
        // the stream hands over a fresh chunk each time: a whole chunk is kept as is, a part of one is copied so the
        // rest of it is not held
        this.chunks.push(piece.length === chunk.length ? chunk : Buffer.from(piece)); this.size += piece.length;
      }
      if (nl === -1) break;
      // a whole line
      if (this.dropping) { this.ready.push(describe(this.dropping)); this.dropping = undefined; }
      else { this.ready.push(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size)); this.chunks = []; this.size = 0; }
      start = nl + 1;
    }
  }

  /** The next complete line: a message, an oversized line's description, or null. */
  next(): JSONRPCMessage | OversizedMessage | { invalid: JSONRPCMessage | undefined } | null {
    const x = this.ready.shift();
    if (x === undefined) return null;
    if (!Buffer.isBuffer(x)) return x;
    if (nestingDepth(x, this.maxDepth) > this.maxDepth) {
      return { ...describe({ head: firstBytes([x]), tail: lastBytes([x]), bytes: x.length }), deeperThan: this.maxDepth };
    }
    const line = x.toString('utf8').replace(/\r$/, '');
    try { return deserializeMessage(line); } catch { /* answered below */ }
    let json: unknown;
    try { json = JSON.parse(line); } catch { return { invalid: invalidMessageReply('not json') }; }
    return { invalid: invalidMessageReply({ json }) };
  }

  readMessage(): JSONRPCMessage | null {
    for (;;) {
      const m = this.next();
      if (m === null) return m;
      if ('invalid' in m) { if (m.invalid) this.onInvalid?.(m.invalid); continue; }
      if (!isOversized(m)) return m;
      this.onOversized?.(m);
    }
  }

  onOversized?: (m: OversizedMessage) => void;
  /** The answer to a line that is not JSON or not JSON-RPC (the SDK would drop it, and the client wait forever). */
  onInvalid?: (reply: JSONRPCMessage) => void;

  clear(): void { this.chunks = []; this.size = 0; this.dropping = undefined; this.ready = []; }
}

export function isOversized(m: unknown): m is OversizedMessage {
  return !!m && typeof m === 'object' && 'bytes' in m && !('jsonrpc' in m);
}

/** A copy of the first EDGE bytes of the pieces. */
function firstBytes(pieces: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (const p of pieces) { if (n >= EDGE) break; out.push(p.subarray(0, EDGE - n)); n += out[out.length - 1].length; }
  return Buffer.concat(out, n);
}

/** A copy of the last EDGE bytes of the pieces. */
function lastBytes(pieces: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (let i = pieces.length - 1; i >= 0 && n < EDGE; i--) { const p = pieces[i]; out.unshift(p.subarray(Math.max(0, p.length - (EDGE - n)))); n += out[0].length; }
  return Buffer.concat(out, n);
}

function describe(d: { head: Buffer; tail: Buffer; bytes: number }): OversizedMessage {
  const head = d.head.toString('utf8');
  const tail = d.tail.toString('utf8');
  const both = `${head}\n${tail}`;
  const id = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")\s*[,}]/.exec(tail)?.[1] ?? /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")\s*[,}]/.exec(head)?.[1];
  const method = /"method"\s*:\s*"([^"]{1,100})"/.exec(both)?.[1];
  const tool = /"params"\s*:\s*\{\s*"name"\s*:\s*"([^"]{1,200})"/.exec(head)?.[1] ?? /"name"\s*:\s*"([^"]{1,200})"/.exec(head)?.[1];
  let parsedId: string | number | undefined;
  if (id !== undefined) { try { parsedId = JSON.parse(id) as string | number; } catch { parsedId = undefined; } }
  return { bytes: d.bytes, id: parsedId, method, tool };
}

/** The SDK's stdio transport with a bounded read buffer: an oversized or too deeply nested request is answered (a tool error for
 *  tools/call, else a JSON-RPC error) and the session goes on. */
export class BoundedStdioServerTransport extends StdioServerTransport {
  constructor(maxBytes: number, maxDepth: number, onOversized: (m: OversizedMessage, send: (msg: JSONRPCMessage) => void) => void) {
    super();
    const buf = new BoundedReadBuffer(maxBytes, maxDepth);
    buf.onOversized = m => onOversized(m, msg => { this.send(msg).catch(() => undefined); });
    buf.onInvalid = reply => { this.send(reply).catch(() => undefined); };
    // the SDK's transport reads through this field (append, readMessage, clear)
    (this as unknown as { _readBuffer: BoundedReadBuffer })._readBuffer = buf;
  }
}
