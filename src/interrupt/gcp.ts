// GCP's preemption notice, read as Google documents it: instance/preempted with
// `Metadata-Flavor: Google` is FALSE until the box is being reclaimed, then TRUE, and
// the box has ~30 s. The first look answers at once (with an ETag); each next one hangs
// (wait_for_change, last_etag) until the value changes or timeout_sec passes, so a change
// is heard at once and a change between two looks is answered at once by the next.
import { ask, under } from './http.js';
import { poll, type Notice, type Watcher } from './notice.js';

/** The metadata server's documented name. */
export const GCP_ENDPOINT = 'http://metadata.google.internal';
/** Compute Engine gives a preempted box 30 s before it stops it. */
export const GCP_NOTICE_MS = 30_000;
/** How long the server holds a wait_for_change look before answering unchanged. */
export const GCP_WAIT_S = 60;
/** Between two looks (a change meanwhile is answered at once by the next), and before looking again after a failure. */
export const GCP_GAP_MS = 1000;
export const GCP_RETRY_MS = 5000;

export interface GcpWatch {
  endpoint: URL;
  /** Gap between looks, and after a failure. */
  gapMs: number;
  retryMs: number;
  /** Timeout of the first (immediate) look; a waiting one gets waitS more. */
  timeoutMs: number;
  waitS: number;
}

const PATH = 'computeMetadata/v1/instance/preempted';

export function watchGcp(o: GcpWatch, onNotice: (n: Notice) => void, failing: (err: unknown) => void): Watcher {
  let etag: string | undefined;
  const look = async (signal: AbortSignal): Promise<Notice | undefined> => {
    const waiting = etag !== undefined;
    const url = under(o.endpoint, PATH);
    if (waiting) {
      url.searchParams.set('wait_for_change', 'true');
      url.searchParams.set('last_etag', etag!);
      url.searchParams.set('timeout_sec', String(o.waitS));
    }
    let a;
    try {
      a = await ask(url, { headers: { 'Metadata-Flavor': 'Google' }, timeoutMs: o.timeoutMs + (waiting ? o.waitS * 1000 : 0), signal });
    } catch (err) {
      etag = undefined;
      throw err;
    }
    if (a.status !== 200) {
      etag = undefined;
      throw new Error(`instance/preempted answered HTTP ${a.status}`);
    }
    const tag = a.headers.etag;
    etag = typeof tag === 'string' && tag !== '' ? tag : undefined;
    if (a.body.trim() !== 'TRUE') return undefined;
    const seen = new Date();
    return { from: 'gcp', action: 'preempted', seen, deadline: new Date(+seen + GCP_NOTICE_MS) };
  };
  return poll(look, (failed) => (failed ? o.retryMs : o.gapMs), onNotice, failing);
}
