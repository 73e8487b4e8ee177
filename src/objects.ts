// Small object helpers shared by every layer (pure, no imports).

/**
 * The entries of `o` whose value is not undefined: `...defined({ workdir })` leaves an
 * absent field absent. In a document the driver would write `undefined` as null (a
 * field that then matches `{workdir: null}`); in options it keeps "not given" apart
 * from "given as undefined". Falsy values (0, '', false) are kept: test those yourself.
 */
export function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (o[k] !== undefined) out[k] = o[k];
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
