// One kitchen query for many viewers. Within `maxAgeMs` of the last answer every caller
// gets it again; after that the first caller starts one refresh and callers wait for it
// until `waitMs` after that refresh began (not after each caller came: under load
// a slow refresh would hold every request that long): a kitchen that answers in time gives every one of them the fresh
// figures (a page opened after a quiet minute never sees that minute-old answer). Only
// when the refresh takes longer do they get the last answer, if it is younger than
// `maxStaleMs`: a kitchen that takes seconds to count (the FerretDB test server scans)
// does not stall every page. Once a
// refresh has failed, or the answer is older than that, callers wait for the next one,
// so an outage shows as an error, not as old figures. After a write through this
// server, callers wait for a fresh answer. An answer's age counts from when the kitchen
// answered (HTTP's Age), not from when its query began.
//
// After a quiet spell (nobody asked for `quiet.afterMs`), the last answer says nothing
// about now (a page reopened after a minute was shown minute-old counts): the refresh
// then holds its callers up to `quiet.waitMs` instead. Past that, they still get the
// last answer rather than a spinner, with its age (Age header, asOf/ageSeconds in the
// body, the page's amber label): never as if it were fresh.
import type { Context } from 'hono';

export interface Cached<T> {
  /**
   * The answer, when the kitchen gave it (`at`, on the cache's clock: the same for every
   * read of that answer, so its asOf never moves) and its age in ms (0 when fetched for this call).
   */
  (): Promise<{ value: T; at: number; ageMs: number }>;
  /** Forget the last answer (after a write through this server). */
  invalidate(): void;
}

/**
 * How old an answer is, as the API says it: `asOf`, when the kitchen gave it (the same
 * for every read of those figures), and `ageSeconds` (HTTP's Age), counted from then to `now`.
 */
export function answerAge(at: number, now: number): { asOf: string; ageSeconds: number } {
  return { asOf: new Date(at).toISOString(), ageSeconds: Math.max(0, Math.floor((now - at) / 1000)) };
}

/**
 * A shared answer, with how old it is: the Age header (seconds, as HTTP counts), X-As-Of
 * (when the kitchen answered, ISO), and in an object's body `asOf` and `ageSeconds` (a
 * page or script reading only the body still sees how old its figures are).
 */
export function withAge(c: Context, shared: { value: unknown; at: number }): Response {
  // From when the kitchen answered (the cache's clock is Date.now), not from this response: the same figures, the same asOf.
  const { asOf, ageSeconds } = answerAge(shared.at, Date.now());
  c.header('Age', String(ageSeconds));
  c.header('X-As-Of', asOf);
  const v = shared.value;
  return c.json(Array.isArray(v) || v === null || typeof v !== 'object' ? (v as object) : { ...v, asOf, ageSeconds });
}

/** After this long without a refresh, callers wait up to `waitMs` for the next one. */
export const QUIET = { afterMs: 10_000, waitMs: 5_000 };

export function cached<T>(fn: () => Promise<T>, maxAgeMs: number, maxStaleMs: number, clock: () => number = Date.now, waitMs = 1000, quiet = QUIET): Cached<T> {
  let value: T | undefined;
  let has = false;
  let at = -Infinity;
  let inflight: Promise<{ v: T; at: number }> | undefined;
  let inflightSince = 0;
  let inflightWait = waitMs;
  let generation = 0;
  let failed = false;
  const refresh = () => {
    const gen = generation;
    const started = clock();
    const p = fn()
      .then(
        (v) => {
          const came = clock();
          // An answer to a query that began before an invalidation is not kept.
          if (gen === generation) {
            value = v;
            has = true;
            // Its age counts from when the kitchen answered, as HTTP's Age does: the callers
            // that waited got it as fresh (ageMs 0), so must the next one. Counted from when
            // the query began, an answer that took longer than maxStaleMs (a status of 100k
            // orders on a loaded FerretDB test server: over 2 min) was too old the moment it
            // came, and every caller waited for the next slow refresh (the bench's 20
            // clients all timed out).
            at = came;
            failed = false;
          }
          return { v, at: came };
        },
        (err: unknown) => {
          if (gen === generation) failed = true;
          throw err;
        },
      )
      .finally(() => {
        if (inflight === p) inflight = undefined;
      });
    inflight = p;
    inflightSince = started;
    inflightWait = has && started - at >= quiet.afterMs ? Math.max(waitMs, quiet.waitMs) : waitMs;
    return p;
  };
  const get = (async () => {
    const age = clock() - at;
    const fresh = (r: { v: T; at: number }) => ({ value: r.v, at: r.at, ageMs: 0 });
    if (has && age < maxAgeMs) return { value: value as T, at, ageMs: age };
    const p = inflight ?? refresh();
    if (has && !failed && age < maxStaleMs) {
      p.catch(() => undefined); // maybe nobody awaits this refresh; if it fails, the next callers wait and see why
      const left = inflightSince + inflightWait - clock();
      if (left <= 0) return { value: value as T, at, ageMs: age };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)));
      const first = await Promise.race([p.catch(() => 'failed' as const), late]).finally(() => clearTimeout(timer));
      if (first === 'failed') return fresh(await p); // throws: an outage shows as an error
      if (first !== 'late') return fresh(first);
      const stale = clock() - at;
      if (has && stale < maxStaleMs) return { value: value as T, at, ageMs: stale };
    }
    return fresh(await p);
  }) as Cached<T>;
  get.invalidate = () => {
    generation++;
    at = -Infinity;
    has = false;
    inflight = undefined;
  };
  return get;
}

/** `make()` once, its promise kept for every later call, unless it rejects: then the next call makes it again. */
export function keptUnlessFailed<T>(make: () => Promise<T>): () => Promise<T> {
  let kept: Promise<T> | undefined;
  return () =>
    (kept ??= make().catch((err: unknown) => {
      kept = undefined;
      throw err;
    }));
}
