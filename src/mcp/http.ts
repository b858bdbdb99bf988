import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ConfigError, type DataToolsConfig } from '../core/config';
import { ToolHost } from '../core/host';
import { MAX_REQUEST_DEPTH } from '../core/bounds';
import { ENVELOPE_DEPTH, createMcpServer } from './server';
import { invalidMessageReply, nestingDepth } from './transport';
import { oauthAuthenticator, tokenAuthenticator, type Authenticator, type Principal } from './auth';
import { EventBudget, EventLog } from './events';

export interface HttpSettings {
  host: string;
  port: number;
  idleSeconds: number;
  maxSessions: number;
  maxSessionsPerSubject: number;
  bodySeconds: number;
  allowedOrigins: string[];
  tokensFile?: string;
  oauth?: { issuer: string; audience?: string; roleClaim: string };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const isLoopback = (h: string) => LOOPBACK.has(h) || /^127\./.test(h);

/** `[HOST:]PORT` (IPv6 in brackets). */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`--http ${spec}: expected [HOST:]PORT, e.g. 8808 or 127.0.0.1:8808 or 0.0.0.0:8808.`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}=${v.slice(0, 40)} must be a whole number from ${min} to ${max}.`);
  return n;
}

export function httpSettingsFromEnv(listen: string, env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const { host, port } = parseListen(listen);
  const s: HttpSettings = {
    host, port,
    idleSeconds: int(env, 'DATATOOLS_MCP_SESSION_IDLE_SECONDS', 1800, 1, 7 * 86400),
    maxSessions: int(env, 'DATATOOLS_MCP_MAX_SESSIONS', 32, 1, 10_000),
    maxSessionsPerSubject: int(env, 'DATATOOLS_MCP_MAX_SESSIONS_PER_SUBJECT', 8, 1, 10_000),
    bodySeconds: int(env, 'DATATOOLS_MCP_BODY_TIMEOUT_SECONDS', 120, 1, 86400),
    allowedOrigins: (env.DATATOOLS_MCP_ALLOWED_ORIGINS ?? '').split(',').map(x => x.trim().replace(/\/$/, '')).filter(Boolean),
    tokensFile: env.DATATOOLS_MCP_TOKENS_FILE || undefined,
    oauth: env.DATATOOLS_OAUTH_ISSUER ? { issuer: env.DATATOOLS_OAUTH_ISSUER, audience: env.DATATOOLS_OAUTH_AUDIENCE || undefined, roleClaim: env.DATATOOLS_OAUTH_ROLE_CLAIM || 'scope' } : undefined,
  };
  if (s.oauth) {
    const url = (name: string, v: string) => {
      let u: URL | undefined;
      try { u = new URL(v); } catch { /* said below */ }
      if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) throw new ConfigError(`${name}=${v.slice(0, 200)} is not an http(s) URL.`);
      return u;
    };
    const iss = url('DATATOOLS_OAUTH_ISSUER', s.oauth.issuer);
    if (iss.protocol !== 'https:' && !isLoopback(iss.hostname.replace(/^\[|\]$/g, ''))) {
      throw new ConfigError(`DATATOOLS_OAUTH_ISSUER=${s.oauth.issuer.slice(0, 200)} must be an https URL (plain http is accepted only for an issuer on loopback): its keys decide who gets in.`);
    }
    if (s.oauth.audience) url('DATATOOLS_OAUTH_AUDIENCE', s.oauth.audience);
    else if (!isLoopback(host)) {
      throw new ConfigError(`With OAuth on ${host}, set DATATOOLS_OAUTH_AUDIENCE to the server's public URL of /mcp as clients reach it (e.g. https://data.example.com/mcp): tokens must be issued for it, and the listen address is not that URL.`);
    }
  }
  if (s.tokensFile && s.oauth) throw new ConfigError('Set DATATOOLS_MCP_TOKENS_FILE or DATATOOLS_OAUTH_ISSUER, not both.');
  if (!s.tokensFile && !s.oauth && !isLoopback(host)) {
    throw new ConfigError(`datatools-mcp will not listen on ${host} without authorization: anyone who reaches the port could run code and read the data. `
      + 'Set DATATOOLS_MCP_TOKENS_FILE (lines of `role sha256`, `datatools-mcp token <role>` prints one) or DATATOOLS_OAUTH_ISSUER, or listen on 127.0.0.1.');
  }
  return s;
}

interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: Server;
  host: ToolHost;
  principal?: Principal;
  events: EventLog;
  lastSeen: number;
  busy: number;
  closed?: boolean;
}

export interface HttpServer { url: string; close: () => Promise<void>; sessions: () => number }

/** The catalog over MCP Streamable HTTP at /mcp: one tool host (Python session, result store, audit identity) per MCP
 *  session, for the role its token grants. */
export async function serveHttp(config: DataToolsConfig, s: HttpSettings, version: string, log: (line: string) => void): Promise<HttpServer> {
  const lineLimit = config.limits.maxRequestBytes + (1 << 16);
  const sessions = new Map<string, Session>();
  // what all sessions' SSE resume logs hold together (each its own 8 MB / 1,000 events within it)
  const eventBudget = new EventBudget();
  /** Sessions whose initialize the SDK is answering: they count against the caps, but are not yet found by id. */
  const starting = new Set<Session>();
  // static tokens are read before the port opens; OAuth needs the server's own URL (its default audience), so until
  // it is set up every request is turned away (never let in unchecked)
  let auth: Authenticator | undefined = s.tokensFile ? tokenAuthenticator(s.tokensFile) : undefined;
  const needsAuth = !!(s.tokensFile || s.oauth);
  let selfUrl = '';
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent) { res.end(); return; }
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const rpcError = (res: http.ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) =>
    json(res, status, { jsonrpc: '2.0', id: null, error: { code, message } }, headers);

  const originAllowed = (origin: string | undefined): boolean => {
    if (!origin) return true; // not a browser: DNS rebinding needs one
    let u: URL;
    try { u = new URL(origin); } catch { return false; }
    if (s.allowedOrigins.includes(u.origin)) return true;
    const own = new URL(selfUrl);
    return isLoopback(u.hostname.replace(/^\[|\]$/g, '')) && u.port === own.port && isLoopback(s.host);
  };

  const closeSession = async (x: Session, why: string) => {
    if (x.closed) return;
    x.closed = true;
    sessions.delete(x.id);
    log(`session ${x.id} ended (${why})`);
    await x.transport.close().catch(() => undefined);
    await x.host.dispose().catch(() => undefined);
    x.events.clear();
  };

  const newSession = (principal: Principal | undefined): Session => {
    const id = randomUUID();
    const role = principal?.role ?? config.role;
    const host = new ToolHost({ ...config, role }, { identity: { session: id, ...(principal ? { subject: principal.subject } : {}) } });
    const server = createMcpServer(host, version);
    const events = new EventLog(1000, 8 * 1048576, eventBudget);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore: events,
      onsessioninitialized: () => {
        if (x.closed) return;
        sessions.set(id, x);
        log(`session ${id} started for role ${role}${principal ? ` (${principal.subject})` : ''}`);
      },
      onsessionclosed: () => { const x = sessions.get(id); if (x) void closeSession(x, 'closed by the client'); },
    });
    const x: Session = { id, transport, server, host, principal, events, lastSeen: Date.now(), busy: 0 };
    transport.onclose = () => void closeSession(x, 'transport closed');
    return x;
  };

  // a body over the limit stops being read at once (a declared Content-Length over it is not read at all), and one
  // that has not arrived whole within DATATOOLS_MCP_BODY_TIMEOUT_SECONDS is given up: neither holds the connection
  const readBody = (req: http.IncomingMessage): Promise<Buffer | 'too big' | 'too slow'> => new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > lineLimit) return resolve('too big');
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: Buffer | 'too big' | 'too slow') => { clearTimeout(timer); req.removeListener('data', onData); req.pause(); resolve(r); };
    const timer = setTimeout(() => done('too slow'), s.bodySeconds * 1000);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > lineLimit) { chunks.length = 0; done('too big'); return; }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    req.on('error', e => { clearTimeout(timer); reject(e); });
  });
  /** Answers and ends the connection without reading the rest of the request: the socket is half-closed once the
   *  answer is out (so the client reads it) and destroyed a moment later whatever the client still sends. */
  const refuseAndClose = (req: http.IncomingMessage, res: http.ServerResponse, status: number, message: string) => {
    res.once('finish', () => { const t = setTimeout(() => req.socket.destroy(), 2000); t.unref(); req.socket.once('close', () => clearTimeout(t)); });
    rpcError(res, status, ErrorCode.InvalidRequest, message, { connection: 'close' });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/.well-known/oauth-protected-resource' || url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      if (auth?.resourceMetadata) return json(res, 200, auth.resourceMetadata, { 'cache-control': 'max-age=300' });
      return json(res, 404, { error: 'not_found', error_description: 'This server is not configured for OAuth (DATATOOLS_OAUTH_ISSUER).' });
    }
    if (url.pathname !== '/mcp') return json(res, 404, { error: 'not_found', error_description: 'The MCP endpoint is /mcp.' });
    if (!originAllowed(req.headers.origin)) {
      return rpcError(res, 403, ErrorCode.InvalidRequest, `Origin ${String(req.headers.origin).slice(0, 200)} is not allowed (DNS rebinding protection; DATATOOLS_MCP_ALLOWED_ORIGINS lists others).`);
    }
    let principal: Principal | undefined;
    if (needsAuth && !auth) return rpcError(res, 503, ErrorCode.InternalError, 'The server is still starting (reading its OAuth issuer\'s keys); try again in a moment.', { 'retry-after': '2' });
    if (auth) {
      const r = await auth.check(req.headers.authorization);
      if ('status' in r) {
        return rpcError(res, r.status, ErrorCode.InvalidRequest, r.message,
          r.status === 401 ? { 'www-authenticate': auth.challenge(req.headers.authorization ? 'invalid_token' : undefined) } : {});
      }
      principal = r;
    }
    const sid = req.headers['mcp-session-id'];
    let session = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (typeof sid === 'string' && !session) return rpcError(res, 404, -32001, 'Session not found: it ended or expired. Start a new one (initialize).');
    if (session && principal && (session.principal?.key !== principal.key || session.principal?.role !== principal.role)) {
      // a session keeps the credential (not merely the name) and role it began with: another token cannot take it
      // over or raise it
      return rpcError(res, 403, ErrorCode.InvalidRequest, 'This session belongs to another credential; start a session of your own (initialize without Mcp-Session-Id).');
    }
    if (session) {
      // in use from here on, while its body is still arriving too: a slow upload is not reaped mid-request. A call
      // in progress keeps its session; a standing GET stream for notifications does not (idle is idle)
      const x = session;
      x.lastSeen = Date.now();
      if (req.method === 'POST') {
        x.busy++;
        res.on('close', () => { x.busy--; x.lastSeen = Date.now(); });
      }
    }
    let body: unknown;
    let fresh: Session | undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      if (raw === 'too big') {
        return refuseAndClose(req, res, 413, `The request is over the ${lineLimit.toLocaleString('en-US')}-byte limit on one request (DATATOOLS_MAX_REQUEST_BYTES); it was not read, and the connection is closed. Pass large data as a file under a data root instead.`);
      }
      if (raw === 'too slow') {
        return refuseAndClose(req, res, 408, `The request body did not arrive whole within ${s.bodySeconds} s (DATATOOLS_MCP_BODY_TIMEOUT_SECONDS); it was dropped and the connection is closed. Send it again, or pass large data as a file under a data root.`);
      }
      if (nestingDepth(raw, MAX_REQUEST_DEPTH + ENVELOPE_DEPTH) > MAX_REQUEST_DEPTH + ENVELOPE_DEPTH) {
        return rpcError(res, 400, ErrorCode.InvalidRequest, `The request is nested more than ${MAX_REQUEST_DEPTH} levels deep; it was refused unread.`);
      }
      try { body = JSON.parse(raw.toString('utf8')); } catch {
        return json(res, 400, invalidMessageReply('not json'));
      }
      // not JSON-RPC (a batch, "jsonrpc": "1.0", params that are not an object): -32600 with the id where there is one
      const invalid = invalidMessageReply({ json: body });
      if (invalid) return json(res, 400, invalid);
      if (!session) {
        const msgs = Array.isArray(body) ? body : [body];
        if (!msgs.some(m => isInitializeRequest(m))) {
          return rpcError(res, 400, ErrorCode.InvalidRequest, 'No Mcp-Session-Id header: start with an initialize request.');
        }
        if (sessions.size + starting.size >= s.maxSessions) {
          return rpcError(res, 503, ErrorCode.InternalError, `The server holds its most sessions (${s.maxSessions}, DATATOOLS_MCP_MAX_SESSIONS); try again when one ends.`, { 'retry-after': '30' });
        }
        if (principal) {
          const mine = [...sessions.values(), ...starting].filter(x => x.principal?.key === principal!.key).length;
          if (mine >= s.maxSessionsPerSubject) {
            return rpcError(res, 429, -32000, `This credential already holds ${mine} sessions, the most one may (DATATOOLS_MCP_MAX_SESSIONS_PER_SUBJECT=${s.maxSessionsPerSubject}). `
              + 'Reuse one of them, end one you no longer need (HTTP DELETE with its Mcp-Session-Id), or wait until an idle one expires, then initialize again.', { 'retry-after': '30' });
          }
        }
        // a slot is held while the SDK answers the initialize; the session is registered only once the SDK accepted
        // it (onsessioninitialized), and a refused initialize (wrong Accept, content type) leaves nothing behind
        session = fresh = newSession(principal);
        starting.add(fresh);
        await session.server.connect(session.transport);
        session.busy++;
        res.on('close', () => { fresh!.busy--; fresh!.lastSeen = Date.now(); });
      }
    } else if (!session) {
      return rpcError(res, 400, ErrorCode.InvalidRequest, 'No Mcp-Session-Id header: start with an initialize request (POST).');
    }
    session.lastSeen = Date.now();
    if (!fresh) return session.transport.handleRequest(req, res, body);
    try {
      await fresh.transport.handleRequest(req, res, body);
    } finally {
      starting.delete(fresh);
      if (!fresh.transport.sessionId || !sessions.has(fresh.id)) {
        fresh.closed = true;
        await fresh.transport.close().catch(() => undefined);
        await fresh.host.dispose().catch(() => undefined);
        fresh.events.clear();
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(e => {
      log(`request failed: ${(e as Error)?.message ?? e}`);
      rpcError(res, 500, ErrorCode.InternalError, 'The server could not handle this request; it goes on serving.');
    });
  });
  server.requestTimeout = 0; // SSE streams and long calls stay open; idle sessions are reaped below
  await new Promise<void>((resolve, reject) => {
    server.once('error', e => reject(new ConfigError(`datatools-mcp cannot listen on ${s.host}:${s.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`)));
    server.listen(s.port, s.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const hostPart = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  selfUrl = `http://${hostPart}:${a.port}`;
  if (s.oauth) {
    try {
      auth = await oauthAuthenticator({ issuer: s.oauth.issuer, audience: s.oauth.audience ?? `${selfUrl}/mcp`, roleClaim: s.oauth.roleClaim, resource: s.oauth.audience ?? `${selfUrl}/mcp` });
    } catch (e) {
      server.close();
      throw e instanceof ConfigError ? e : new ConfigError(`OAuth could not be set up for DATATOOLS_OAUTH_ISSUER=${s.oauth.issuer.slice(0, 200)}: ${String((e as Error)?.message ?? e).slice(0, 200)}. Check the issuer and DATATOOLS_OAUTH_AUDIENCE.`);
    }
  }
  const reaper = setInterval(() => {
    const now = Date.now();
    for (const x of sessions.values()) if (!x.busy && now - x.lastSeen > s.idleSeconds * 1000) void closeSession(x, `idle for more than ${s.idleSeconds} s`);
  }, Math.min(30_000, Math.max(250, s.idleSeconds * 250)));
  reaper.unref();
  return {
    url: `${selfUrl}/mcp`,
    sessions: () => sessions.size,
    close: async () => {
      clearInterval(reaper);
      await Promise.all([...sessions.values()].map(x => closeSession(x, 'server stopping')));
      await new Promise<void>(r => { server.close(() => r()); server.closeAllConnections(); });
    },
  };
}
