import * as http from 'node:http';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { tmpDir } from './mcp';

export interface S3Request { method: string; url: string; range?: string; bytes: number }

export interface S3Server {
  endpoint: string;
  /** Every request the server answered, with the Range header and the body bytes it sent. */
  requests: S3Request[];
  close(): Promise<void>;
}

/** A real S3-compatible server (s3rver) on loopback, behind a small logging proxy so tests can see which byte
 *  ranges a reader asked for. Sets the AWS_* variables the SDK's default credential chain reads. */
export async function startS3(buckets: string[]): Promise<S3Server> {
  let main: string;
  try { main = require.resolve('s3rver'); } catch { throw new Error('s3rver is missing: run "npm ci" (it is a devDependency).'); }
  // s3rver encrypts list continuation tokens with DES, which OpenSSL 3 only offers through its legacy provider:
  // it runs in its own Node process with that provider, so paginated listing works as on a real store
  const script = `const S3rver = require(${JSON.stringify(main)});
    const s = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: ${JSON.stringify(tmpDir('s3rver'))}, configureBuckets: ${JSON.stringify(buckets.map(name => ({ name })))} });
    s.run().then(a => console.log('PORT ' + a.port));
    process.stdin.on('end', () => s.close().then(() => process.exit(0)));
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    child.on('exit', code => reject(new Error(`s3rver exited (${code}) before it listened`)));
  });
  const server = { close: () => new Promise<void>(r => { child.once('exit', () => r()); child.stdin!.end(); setTimeout(() => child.kill('SIGKILL'), 3000).unref(); }) };
  const requests: S3Request[] = [];
  const proxy = http.createServer((req, res) => {
    const entry: S3Request = { method: req.method ?? '', url: req.url ?? '', range: req.headers.range, bytes: 0 };
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, upRes => {
      res.writeHead(upRes.statusCode ?? 500, upRes.headers);
      upRes.on('data', (c: Buffer) => { entry.bytes += c.length; });
      upRes.pipe(res);
      upRes.on('end', () => requests.push(entry));
    });
    up.on('error', e => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  });
  await new Promise<void>(r => proxy.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  return {
    endpoint, requests,
    close: async () => { proxy.closeAllConnections(); await new Promise(r => proxy.close(r)); await server.close(); },
  };
}
