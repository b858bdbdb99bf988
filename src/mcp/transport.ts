import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { deserializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** What is known of a request line that was over the size limit: its first and last bytes and its size. */
export interface OversizedMessage {
  bytes: number;
  id?: string | number;
  method?: string;
  tool?: string;
}

const EDGE = 4096;

/** Splits stdin into lines like the SDK's ReadBuffer, but without its 10 MB cliff (past which the SDK closes the
 *  session) and without copying the whole buffer on every chunk: a line over `maxBytes` is dropped as it streams
 *  in (memory stays at `maxBytes`) and reported with what its first and last bytes say (id, method, tool). */
export class BoundedReadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropping?: { head: Buffer; tail: Buffer; bytes: number };
  private ready: (Buffer | OversizedMessage)[] = [];

  constructor(private maxBytes: number) {}

  append(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.dropping) {
        this.dropping.bytes += piece.length;
        this.dropping.tail = Buffer.concat([this.dropping.tail, piece]).subarray(-EDGE);
      } else if (this.size + piece.length > this.maxBytes) {
        const all = Buffer.concat([...this.chunks, piece]);
        this.dropping = { head: Buffer.from(all.subarray(0, EDGE)), tail: Buffer.from(all.subarray(-EDGE)), bytes: all.length };
        this.chunks = []; this.size = 0;
      } else if (piece.length) {
        this.chunks.push(Buffer.from(piece)); this.size += piece.length;
      }
      if (nl === -1) break;
      // a whole line
      if (this.dropping) { this.ready.push(describe(this.dropping)); this.dropping = undefined; }
      else { this.ready.push(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)); this.chunks = []; this.size = 0; }
      start = nl + 1;
    }
  }

  /** The next complete line: a message, an oversized line's description, or null. */
  next(): JSONRPCMessage | OversizedMessage | null {
    const x = this.ready.shift();
    if (x === undefined) return null;
    if (!Buffer.isBuffer(x)) return x;
    return deserializeMessage(x.toString('utf8').replace(/\r$/, ''));
  }

  readMessage(): JSONRPCMessage | null {
    for (;;) {
      const m = this.next();
      if (m === null || !isOversized(m)) return m;
      this.onOversized?.(m);
    }
  }

  onOversized?: (m: OversizedMessage) => void;

  clear(): void { this.chunks = []; this.size = 0; this.dropping = undefined; this.ready = []; }
}

export function isOversized(m: unknown): m is OversizedMessage {
  return !!m && typeof m === 'object' && 'bytes' in m && !('jsonrpc' in m);
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

/** The SDK's stdio transport with a bounded read buffer: an oversized request is answered (a tool error for
 *  tools/call, else a JSON-RPC error) and the session goes on. */
export class BoundedStdioServerTransport extends StdioServerTransport {
  constructor(maxBytes: number, onOversized: (m: OversizedMessage, send: (msg: JSONRPCMessage) => void) => void) {
    super();
    const buf = new BoundedReadBuffer(maxBytes);
    buf.onOversized = m => onOversized(m, msg => { this.send(msg).catch(() => undefined); });
    // the SDK's transport reads through this field (append, readMessage, clear)
    (this as unknown as { _readBuffer: BoundedReadBuffer })._readBuffer = buf;
  }
}
