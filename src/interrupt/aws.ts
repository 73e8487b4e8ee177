// EC2's spot interruption notice, read as AWS documents it: an IMDSv2 session token
// (PUT latest/api/token), then latest/meta-data/spot/instance-action with it every 5 s.
// 404: no notice; 200: {"action": "terminate" | "stop" | "hibernate", "time": "…Z"},
// the time the box goes. Rebalance recommendations are not watched: one often comes
// with no interruption after it, and stopping on it would idle boxes that keep running.
import { ask, under } from './http.js';
import { poll, type Notice, type Watcher } from './notice.js';

/** The instance metadata service's documented address. */
export const AWS_ENDPOINT = 'http://169.254.169.254';
/** AWS: "we recommend that you check for these interruption notices every 5 seconds". */
export const AWS_POLL_MS = 5000;
/** The notice comes two minutes ahead: the deadline when its time cannot be read. */
export const AWS_NOTICE_MS = 120_000;
/** One request to the metadata service (it answers in milliseconds on EC2; off EC2, nothing may answer). */
export const METADATA_TIMEOUT_MS = 2000;
/** The session token's life (IMDSv2's longest, 6 h); a new one is asked a minute before it ends. */
const TOKEN_TTL_S = 21_600;

export interface AwsWatch {
  endpoint: URL;
  everyMs: number;
  timeoutMs: number;
}

export function watchAws(o: AwsWatch, onNotice: (n: Notice) => void, failing: (err: unknown) => void): Watcher {
  let token: string | undefined;
  let tokenUntil = 0;
  const look = async (signal: AbortSignal): Promise<Notice | undefined> => {
    if (token === undefined || Date.now() >= tokenUntil) {
      const a = await ask(under(o.endpoint, 'latest/api/token'), {
        method: 'PUT',
        headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) },
        timeoutMs: o.timeoutMs,
        signal,
      });
      if (a.status !== 200 || a.body.trim() === '') throw new Error(`the token request (PUT latest/api/token) answered HTTP ${a.status}`);
      token = a.body.trim();
      tokenUntil = Date.now() + (TOKEN_TTL_S - 60) * 1000;
    }
    const a = await ask(under(o.endpoint, 'latest/meta-data/spot/instance-action'), { headers: { 'X-aws-ec2-metadata-token': token }, timeoutMs: o.timeoutMs, signal });
    if (a.status === 404) return undefined;
    if (a.status === 401) {
      // The token ended early (the service restarted): a new one on the next look.
      token = undefined;
      return undefined;
    }
    if (a.status !== 200) throw new Error(`spot/instance-action answered HTTP ${a.status}`);
    return awsNotice(a.body, new Date());
  };
  return poll(look, () => o.everyMs, onNotice, failing);
}

/** The notice in instance-action's answer; a time it cannot read is two minutes from now. */
export function awsNotice(body: string, seen: Date): Notice {
  let action = 'terminate';
  let time = NaN;
  try {
    const j = JSON.parse(body) as { action?: unknown; time?: unknown };
    if (typeof j.action === 'string' && /^[a-z-]{1,20}$/.test(j.action)) action = j.action;
    if (typeof j.time === 'string') time = Date.parse(j.time);
  } catch {
    // Not JSON: a notice all the same (the address answered 200), with the documented two minutes.
  }
  return { from: 'aws', action, seen, deadline: new Date(Number.isNaN(time) ? +seen + AWS_NOTICE_MS : time) };
}
