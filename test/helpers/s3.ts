import * as http from 'node:http';
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
  let S3rver: new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  try { S3rver = require('s3rver'); } catch { throw new Error('s3rver is missing: run "npm ci" (it is a devDependency).'); }
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: tmpDir('s3rver'), configureBuckets: buckets.map(name => ({ name })) });
  const { port } = await server.run();
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
