// A promise raced against an AbortSignal: the deadline of --collect-timeout. The work
// itself is not stopped by this (the caller destroys its streams); the caller stops
// waiting for it.

/** `p`, or `signal`'s reason once it aborts, whichever comes first. */
export function until<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
