// EC2's spot interruption notice, read as AWS documents it: an IMDSv2 session token
// (PUT latest/api/token), then latest/meta-data/spot/instance-action with it every 5 s.
// 404: no notice; 200: {"action": "terminate" | "stop" | "hibernate", "time": "…Z"},
// the time the box goes. Any other 200 is not taken as a notice (said once): a notice
// stops the box's work, so only one that reads as AWS documents it does. Rebalance recommendations are not watched: one often comes
// with no interruption after it, and stopping on it would idle boxes that keep running.
import { ask, under } from './http.js';
import { isoTime, MIN_NOTICE_MS, poll, type Notice, type Watcher } from './notice.js';

/** The instance metadata service's documented address. */
export const AWS_ENDPOINT = 'http://169.254.169.254';
/** AWS: "we recommend that you check for these interruption notices every 5 seconds". */
export const AWS_POLL_MS = 5000;
/** The notice comes two minutes ahead: no deadline is later, and a time this long past is stale. */
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

/** `ignoring`: an answer that is not a notice (awsNotice), said once of each kind; the watcher looks on. */
export function watchAws(o: AwsWatch, onNotice: (n: Notice) => void, failing: (err: unknown) => void, ignoring: (why: string) => void = () => undefined): Watcher {
  let token: string | undefined;
  const said = new Set<'stale' | 'malformed'>();
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
    const n = awsNotice(a.body, new Date());
    if (!('ignored' in n)) return n;
    // Once for a malformed answer, once for a stale one: the next looks say the same.
    const kind = n.stale ? 'stale' : 'malformed';
    if (!said.has(kind)) ignoring(n.ignored);
    said.add(kind);
    return undefined;
  };
  return poll(look, () => o.everyMs, onNotice, failing);
}

/** The actions EC2 announces; anything else is not taken as a notice. */
const ACTIONS = ['terminate', 'stop', 'hibernate'];
const ACTIONS_TEXT = 'terminate, stop or hibernate';
const EXCERPT = 40;

/** What instance-action answered that is not a notice: why, for the log; stale: a time long past, else not as AWS documents it. */
export interface Ignored {
  ignored: string;
  stale?: true;
}

/**
 * The notice in instance-action's answer (a 200), its deadline kept within [seen +
 * MIN_NOTICE_MS, seen + AWS_NOTICE_MS]; or why it is not one: not JSON, an action EC2 does
 * not announce, a time that is not ISO 8601 with a zone, or one over AWS_NOTICE_MS before
 * it was seen (a leftover of a termination that did not happen, not a box going now).
 */
export function awsNotice(body: string, seen: Date): Notice | Ignored {
  let j: { action?: unknown; time?: unknown } | null;
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    return { ignored: `${quoted(body)} (not JSON)` };
  }
  const action = j !== null && typeof j === 'object' ? j.action : undefined;
  if (action === undefined) return { ignored: `no action (${ACTIONS_TEXT})` };
  if (typeof action !== 'string' || !ACTIONS.includes(action))
    return { ignored: `the action ${quoted(typeof action === 'string' ? action : JSON.stringify(action))} (not ${ACTIONS_TEXT})` };
  const text = j!.time;
  const t = typeof text === 'string' ? isoTime(text) : NaN;
  if (Number.isNaN(t)) return { ignored: `the time ${quoted(String(text))} (not ISO 8601 with a zone)` };
  if (t < +seen - AWS_NOTICE_MS) return { ignored: `the time ${new Date(t).toISOString()}, over ${AWS_NOTICE_MS / 60_000} minutes before it was seen (a leftover)`, stale: true };
  const deadline = Math.min(Math.max(t, +seen + MIN_NOTICE_MS), +seen + AWS_NOTICE_MS);
  return { from: 'aws', action, seen, deadline: new Date(deadline) };
}

function quoted(text: string): string {
  return JSON.stringify(text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text);
}
