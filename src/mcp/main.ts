import { ConfigError, ROLES, configFromEnv, isRole } from '../core/config';
import { newToken } from './auth';
import { httpSettingsFromEnv, serveHttp, type HttpSettings } from './http';
import { ToolHost } from '../core/host';
import { MAX_REQUEST_DEPTH } from '../core/bounds';
import { ENVELOPE_DEPTH, createMcpServer, oversizedReply } from './server';
import { BoundedStdioServerTransport } from './transport';

declare const DATATOOLS_VERSION: string;

/** `datatools-mcp`: the catalog over MCP stdio, configured by environment variables (see README). */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'token') {
    // datatools-mcp token <role> [name]: a new static token (shown once) and its line for DATATOOLS_MCP_TOKENS_FILE
    if (!isRole(argv[1])) { process.stderr.write(`usage: datatools-mcp token <${ROLES.join('|')}> [name]\n`); process.exit(2); }
    const { token, line } = newToken(argv[1], argv.slice(2).join('_') || undefined);
    process.stdout.write(`token (give it to its user; it is not stored anywhere): ${token}\nline for DATATOOLS_MCP_TOKENS_FILE:\n${line}\n`);
    return;
  }
  const httpAt = argv[0] === '--http' ? argv[1] ?? '' : process.env.DATATOOLS_MCP_HTTP;
  let config;
  let http: HttpSettings | undefined;
  try {
    config = configFromEnv(process.env);
    if (httpAt !== undefined && httpAt !== '') http = httpSettingsFromEnv(httpAt, process.env);
    else if (argv[0] === '--http') throw new ConfigError('--http needs [HOST:]PORT, e.g. --http 8808 (127.0.0.1) or --http 0.0.0.0:8808.');
  } catch (e) {
    if (e instanceof ConfigError) { process.stderr.write(`datatools-mcp: ${e.message}\n`); process.exit(2); }
    throw e;
  }
  const version = typeof DATATOOLS_VERSION === 'string' ? DATATOOLS_VERSION : '0.0.0';
  if (http) {
    let served;
    try {
      served = await serveHttp(config, http, version, line => process.stderr.write(`datatools-mcp: ${line}\n`));
    } catch (e) {
      if (e instanceof ConfigError) { process.stderr.write(`datatools-mcp: ${e.message}\n`); process.exit(2); }
      throw e;
    }
    const stop = () => void served.close().finally(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const who = http.tokensFile ? 'bearer tokens from DATATOOLS_MCP_TOKENS_FILE' : http.oauth ? `OAuth access tokens from ${http.oauth.issuer}` : 'loopback only, no authorization';
    process.stderr.write(`datatools-mcp: serving MCP over Streamable HTTP at ${served.url} (${who}; role ${config.role} unless a token says otherwise)\n`);
    return;
  }
  const host = new ToolHost(config);
  const server = createMcpServer(host, version);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await host.dispose().catch(() => undefined);
    process.exit(0);
  };
  server.onclose = () => void shutdown();
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.stdin.on('end', () => void shutdown());
  // a request line past the request limit (counted in bytes as sent: the JSON text, plus 64 KiB for the JSON-RPC
  // envelope) is dropped as it arrives, never parsed, and answered with a tool error; the session goes on. Memory for
  // a request is bounded by this line limit: a line within it is held, joined and parsed whole (a few copies of it)
  const lineLimit = config.limits.maxRequestBytes + (1 << 16);
  // so is a line nested deeper than any request the tools accept (their arguments' limit, plus the envelope's levels)
  await server.connect(new BoundedStdioServerTransport(lineLimit, MAX_REQUEST_DEPTH + ENVELOPE_DEPTH, (m, send) => oversizedReply(host, m, lineLimit, send)));
  process.stderr.write(`datatools-mcp: serving ${host.available().length} tools for role ${config.role}\n`);
}

// stdout carries the protocol: console output of any library (the Jupyter client logs its WebSocket connections
// with console.debug) goes to stderr
for (const k of ['log', 'info', 'debug'] as const) console[k] = (...a: unknown[]) => console.error(...a);
// a failure anywhere must be reported on stderr (stdout carries the protocol) and must not kill the server
process.on('uncaughtException', e => process.stderr.write(`datatools-mcp: uncaught: ${e?.stack ?? e}\n`));
process.on('unhandledRejection', e => process.stderr.write(`datatools-mcp: unhandled rejection: ${(e as Error)?.stack ?? e}\n`));
void main();
