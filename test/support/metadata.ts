// A stand-in of the clouds' instance metadata services on 127.0.0.1 (port 0), for the
// interruption watchers (src/interrupt/): no test may reach the real link-local ones.
// EC2 (IMDSv2): PUT latest/api/token with a TTL header gives a token; spot/instance-action
// with a token it gave is 404 until `aws.notice` is set (then 200 with it), else 401. GCP: instance/preempted
// with Metadata-Flavor: Google, FALSE until `preempt()`; wait_for_change with the current
// last_etag is held until the value changes or timeout_sec passes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandIn {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request, as "METHOD path?query [token]". */
  requests: string[];
  /** The notice spot/instance-action answers (200): JSON of an object, a string as it is. */
  aws: { notice?: { action: string; time: string } | string; tokens: Set<string> };
  /** GCP: the box is being preempted (TRUE, a new ETag, held looks answered). */
  preempt(): void;
  close(): Promise<void>;
}

/** Guard for the spawned CLI (test/support/cli.ts): --interruptions aws|gcp only with a --metadata-endpoint on 127.0.0.1. */
export function metadataGuard(args: readonly string[]): void {
  const value = (flag: string) => {
    const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    return i < 0 ? undefined : args[i] === flag ? args[i + 1] : args[i]!.slice(flag.length + 1);
  };
  const cloud = value('--interruptions');
  if (cloud === undefined || cloud === 'off') return;
  const url = value('--metadata-endpoint');
  if (url === undefined || new URL(url).hostname !== '127.0.0.1') {
    throw new Error(`a test ran deliver --interruptions ${cloud} without --metadata-endpoint http://127.0.0.1:…: it would reach the real metadata service`);
  }
}

export async function metadataStandIn(): Promise<StandIn> {
  const requests: string[] = [];
  const aws: StandIn['aws'] = { tokens: new Set() };
  let preempted = false;
  let etag = 'e0';
  const held = new Set<() => void>();
  let n = 0;

  const gcp = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end('Missing Metadata-Flavor:Google header.');
    const answer = () => res.writeHead(200, { ETag: etag, 'Metadata-Flavor': 'Google', 'Content-Type': 'application/text' }).end(preempted ? 'TRUE' : 'FALSE');
    if (url.searchParams.get('wait_for_change') !== 'true' || url.searchParams.get('last_etag') !== etag) return answer();
    const timer = setTimeout(() => done(), Number(url.searchParams.get('timeout_sec') ?? 60) * 1000);
    const done = () => {
      clearTimeout(timer);
      held.delete(done);
      if (!res.writableEnded) answer();
    };
    held.add(done);
    req.on('close', () => {
      clearTimeout(timer);
      held.delete(done);
    });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const token = req.headers['x-aws-ec2-metadata-token'];
    requests.push(`${req.method} ${url.pathname}${url.search}${typeof token === 'string' ? ` [${token}]` : ''}`);
    if (req.method === 'PUT' && url.pathname === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      const t = `token-${++n}`;
      aws.tokens.add(t);
      return void res.writeHead(200).end(t);
    }
    if (req.method === 'GET' && url.pathname === '/latest/meta-data/spot/instance-action') {
      if (typeof token !== 'string' || !aws.tokens.has(token)) return void res.writeHead(401).end();
      if (!aws.notice) return void res.writeHead(404).end('<?xml version="1.0"?><title>404 - Not Found</title>');
      return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end(typeof aws.notice === 'string' ? aws.notice : JSON.stringify(aws.notice));
    }
    if (req.method === 'GET' && url.pathname === '/computeMetadata/v1/instance/preempted') return gcp(req, res, url);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    aws,
    preempt() {
      preempted = true;
      etag = `e${++n}`;
      for (const h of [...held]) h();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const h of [...held]) h();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that refuses connections (listened on, then closed). */
export async function refusingPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
