import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { ConfigError, ROLES, isRole, type Role } from '../core/config';

/** Who a request is: the role its session gets and a subject for the audit log (never the token itself). */
export interface Principal {
  role: Role;
  subject: string;
  /** A stable key of the credential a session is bound to (a static token's SHA-256; OAuth: issuer and subject),
   *  never the display name: two tokens that share a name are two credentials. */
  key: string;
}

/** The answer to a request that is not allowed in: a status and a sentence for the client. */
export interface Refusal { status: 401 | 403; message: string }

export interface Authenticator {
  /** Checks the request's `Authorization` header. */
  check(authorization: string | undefined): Promise<Principal | Refusal>;
  /** The `WWW-Authenticate` value of a 401. */
  challenge(error?: string): string;
  /** RFC 9728 metadata when OAuth is configured. */
  resourceMetadata?: Record<string, unknown>;
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A new static token for `role`, and the line of the tokens file that admits it (the file holds only its hash). */
export function newToken(role: Role, name?: string): { token: string; line: string } {
  const token = `dtk_${randomBytes(32).toString('base64url')}`;
  return { token, line: `${role} ${sha256(token)}${name ? ` ${name}` : ''}` };
}

interface TokenLine { role: Role; hash: Buffer; subject: string; key: string }

/** Reads DATATOOLS_MCP_TOKENS_FILE: lines `role sha256-hex [name]`, `#` comments and blank lines ignored. */
export function readTokensFile(file: string): TokenLine[] {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    throw new ConfigError(`DATATOOLS_MCP_TOKENS_FILE ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  const out: TokenLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [role, hash, ...name] = line.split(/\s+/);
    if (!isRole(role)) throw new ConfigError(`${file} line ${i + 1}: "${role.slice(0, 40)}" is not a role (${ROLES.join(', ')}).`);
    if (!/^[0-9a-f]{64}$/i.test(hash ?? '')) {
      throw new ConfigError(`${file} line ${i + 1}: expected the token's SHA-256 as 64 hex digits after the role (the file holds hashes, never tokens; \`datatools-mcp token ${role}\` prints a line).`);
    }
    out.push({ role, hash: Buffer.from(hash.toLowerCase(), 'hex'), subject: name.join(' ') || `token ${hash.slice(0, 8)}`, key: `token:${hash.toLowerCase()}` });
  });
  if (!out.length) throw new ConfigError(`DATATOOLS_MCP_TOKENS_FILE ${file} admits no token: add a line \`role sha256-hex\` (\`datatools-mcp token data_scientist\` prints one).`);
  return out;
}

function bearer(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Static tokens: the SHA-256 of the bearer token must be a line of the file (compared in constant time). */
export function tokenAuthenticator(file: string): Authenticator {
  const lines = readTokensFile(file);
  return {
    challenge: error => `Bearer realm="datatools"${error ? `, error="${error}"` : ''}`,
    async check(authorization) {
      const t = bearer(authorization);
      if (!t) return { status: 401, message: 'This MCP server needs a bearer token: send `Authorization: Bearer <token>` (a token from its administrator).' };
      const h = Buffer.from(sha256(t), 'hex');
      const hit = lines.find(l => timingSafeEqual(l.hash, h));
      if (!hit) return { status: 401, message: 'The bearer token is not one this server admits (unknown or revoked).' };
      return { role: hit.role, subject: hit.subject, key: hit.key };
    },
  };
}

export interface OAuthOptions {
  issuer: string;
  /** The audience a token must name: the server's own URL (RFC 8707) unless configured. */
  audience: string;
  /** The claim that holds the role: a space-separated scope list with `datatools:<role>` (default `scope`), or a claim
   *  whose value is the role. */
  roleClaim: string;
  /** The protected resource's URL (for the metadata). */
  resource: string;
}

/** OAuth 2.1 access tokens as JWTs, checked against the issuer's JWKS: signature, issuer, audience, expiry; the role
 *  from `roleClaim`. */
export async function oauthAuthenticator(o: OAuthOptions): Promise<Authenticator> {
  const jose = await import('jose');
  const jwksUri = await discoverJwks(o.issuer);
  const jwks = jose.createRemoteJWKSet(new URL(jwksUri));
  const metadataUrl = `${new URL(o.resource).origin}/.well-known/oauth-protected-resource`;
  return {
    resourceMetadata: {
      resource: o.resource, authorization_servers: [o.issuer], bearer_methods_supported: ['header'],
      scopes_supported: ROLES.map(r => `datatools:${r}`), resource_name: 'Data Tools MCP server',
    },
    challenge: error => `Bearer resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ''}`,
    async check(authorization) {
      const t = bearer(authorization);
      if (!t) return { status: 401, message: `This MCP server needs an OAuth access token from ${o.issuer} for the resource ${o.audience}.` };
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jose.jwtVerify(t, jwks, { issuer: o.issuer, audience: o.audience, clockTolerance: 30, requiredClaims: ['exp', 'sub'], algorithms: JWT_ALGORITHMS }));
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        const why = code === 'ERR_JWT_EXPIRED' ? 'it has expired'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (e as { reason?: string }).reason === 'missing' ? `it has no "${(e as { claim?: string }).claim}" claim (an access token must name its subject and expiry)`
          : code === 'ERR_JOSE_ALG_NOT_ALLOWED' ? `it is signed with an algorithm this server does not accept (only ${JWT_ALGORITHMS.join(', ')})`
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `its ${(e as { claim?: string }).claim ?? 'claims'} claim does not match (audience must be ${o.audience}, issuer ${o.issuer})`
            : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY' ? 'its signature does not verify with the issuer\'s keys'
              : 'it is not a valid JWT access token';
        return { status: 401, message: `The access token was refused: ${why}.` };
      }
      const role = roleOf(payload[o.roleClaim]);
      if (!role) {
        return { status: 403, message: `The access token grants no Data Tools role: its "${o.roleClaim}" claim must hold one of ${ROLES.map(r => `datatools:${r}`).join(', ')}.` };
      }
      if (typeof payload.sub !== 'string' || !payload.sub) return { status: 401, message: 'The access token was refused: it has no "sub" claim (an access token must name its subject).' };
      return { role, subject: payload.sub, key: `oauth:${JSON.stringify([o.issuer, payload.sub])}` };
    },
  };
}

/** Asymmetric signatures only: a symmetric (HS*) key would be a secret shared with every verifier. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function roleOf(claim: unknown): Role | undefined {
  const items = Array.isArray(claim) ? claim.map(String) : typeof claim === 'string' ? claim.split(/\s+/) : [];
  const roles = items.map(s => s.replace(/^datatools:/, '')).filter(isRole);
  // more than one role: none is chosen for the client (it must ask for one)
  return roles.length === 1 ? roles[0] : undefined;
}

const loopbackUrl = (u: URL) => /^(127\.|localhost$|\[::1\]$)/.test(u.hostname);

async function discoverJwks(issuer: string): Promise<string> {
  const base = issuer.replace(/\/$/, '');
  const safe = (what: string, v: string) => {
    let u: URL | undefined;
    try { u = new URL(v); } catch { /* said below */ }
    if (!u || (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopbackUrl(u)))) {
      throw new ConfigError(`DATATOOLS_OAUTH_ISSUER ${issuer}: ${what} ${v.slice(0, 200)} must be an https URL (plain http only on loopback).`);
    }
    return u;
  };
  safe('the issuer', issuer);
  for (const p of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    let j: { jwks_uri?: unknown; issuer?: unknown };
    try {
      const r = await fetch(base + p, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
      if (!r.ok) continue;
      j = await r.json() as typeof j;
    } catch { continue; /* the next one */ }
    if (typeof j.jwks_uri !== 'string') continue;
    // RFC 8414 section 3.3: the metadata's issuer must be the one asked for, else it is another issuer's
    if (j.issuer !== issuer) {
      throw new ConfigError(`DATATOOLS_OAUTH_ISSUER ${issuer}: its metadata (${base}${p}) names the issuer ${JSON.stringify(j.issuer)?.slice(0, 200)}; set DATATOOLS_OAUTH_ISSUER to exactly the issuer its tokens carry.`);
    }
    return safe('its jwks_uri', j.jwks_uri).href;
  }
  throw new ConfigError(`DATATOOLS_OAUTH_ISSUER ${issuer}: neither ${base}/.well-known/oauth-authorization-server nor openid-configuration names a jwks_uri.`);
}
