/** Makes values JSON-safe for MCP structuredContent and webview messages: bigints as strings (no precision
 *  loss), dates as ISO text, bytes as base64, non-finite numbers as strings. */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? v : String(v);
    case 'string': case 'boolean': return v;
    case 'object': break;
    default: return String(v);
  }
  if (depth > 50) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return v.map(x => jsonSafe(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as object)) out[k] = jsonSafe(x, depth + 1);
  return out;
}
