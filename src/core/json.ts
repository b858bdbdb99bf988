import { toJsonValue } from './values';

/** Makes values JSON-safe for MCP structuredContent and webview messages, by the one value model
 *  (src/core/values.ts): bigints as numbers when safe else strings, bytes as "\x…" hex, NaN/±Infinity as strings. */
export function jsonSafe(v: unknown): unknown {
  return toJsonValue(v);
}
