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
export interface Cached<T> {
  /** The answer and its age in ms (0 when fetched for this call). */
  (): Promise<{ value: T; ageMs: number }>;
  /** Forget the last answer (after a write through this server). */
  invalidate(): void;
}

export function cached<T>(fn: () => Promise<T>, maxAgeMs: number, maxStaleMs: number, clock: () => number = Date.now, waitMs = 1000): Cached<T> {
  let value: T | undefined;
  let has = false;
  let at = -Infinity;
  let inflight: Promise<T> | undefined;
  let inflightSince = 0;
  let generation = 0;
  let failed = false;
  const refresh = () => {
    const gen = generation;
    const started = clock();
    const p = fn()
      .then(
        (v) => {
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
            at = clock();
            failed = false;
          }
          return v;
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
    return p;
  };
  const get = (async () => {
    const age = clock() - at;
    if (has && age < maxAgeMs) return { value: value as T, ageMs: age };
    const p = inflight ?? refresh();
    if (has && !failed && age < maxStaleMs) {
      p.catch(() => undefined); // maybe nobody awaits this refresh; if it fails, the next callers wait and see why
      const left = inflightSince + waitMs - clock();
      if (left <= 0) return { value: value as T, ageMs: age };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)));
      const first = await Promise.race([
        p.then(
          (v) => ({ v }),
          () => 'failed' as const,
        ),
        late,
      ]).finally(() => clearTimeout(timer));
      if (first === 'failed') return { value: await p, ageMs: 0 }; // throws: an outage shows as an error
      if (first !== 'late') return { value: first.v, ageMs: 0 };
      const stale = clock() - at;
      if (has && stale < maxStaleMs) return { value: value as T, ageMs: stale };
    }
    return { value: await p, ageMs: 0 };
  }) as Cached<T>;
  get.invalidate = () => {
    generation++;
    at = -Infinity;
    has = false;
    inflight = undefined;
  };
  return get;
}
