// One kitchen query for many viewers. Within `maxAgeMs` of the last answer every caller
// gets it again; after that the first caller starts one refresh and, while it runs,
// callers get the last answer if it is younger than `maxStaleMs`: a kitchen that takes
// seconds to count (the FerretDB test server scans) does not stall every page. Once a
// refresh has failed, or the answer is older than that, callers wait for the next one,
// so an outage shows as an error, not as old figures. After a write through this
// server, callers wait for a fresh answer.
export interface Cached<T> {
  /** The answer and its age in ms (0 when fetched for this call). */
  (): Promise<{ value: T; ageMs: number }>;
  /** Forget the last answer (after a write through this server). */
  invalidate(): void;
}

export function cached<T>(fn: () => Promise<T>, maxAgeMs: number, maxStaleMs: number, clock: () => number = Date.now): Cached<T> {
  let value: T | undefined;
  let has = false;
  let at = -Infinity;
  let inflight: Promise<T> | undefined;
  let generation = 0;
  let failed = false;
  const refresh = () => {
    const gen = generation;
    const started = clock();
    const p = fn()
      .then((v) => {
        // An answer to a query that began before an invalidation is not kept.
        if (gen === generation) {
          value = v;
          has = true;
          at = started;
          failed = false;
        }
        return v;
      }, (err: unknown) => {
        if (gen === generation) failed = true;
        throw err;
      })
      .finally(() => {
        if (inflight === p) inflight = undefined;
      });
    inflight = p;
    return p;
  };
  const get = (async () => {
    const age = clock() - at;
    if (has && age < maxAgeMs) return { value: value as T, ageMs: age };
    const p = inflight ?? refresh();
    if (has && !failed && age < maxStaleMs) {
      p.catch(() => undefined); // nobody awaits this refresh; if it fails, the next callers wait and see why
      return { value: value as T, ageMs: age };
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
