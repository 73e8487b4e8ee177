// Sizes in options (--keep-output, --collect-max) and in displays, by the `bytes`
// package (express's): 1024-based units. It reads 512kb, 1mb, 1.5MB, or bytes; we also
// take the k/M/G and KiB/MiB/GiB spellings people type, and print KiB/MiB.
import bytes from 'bytes';
import { UsageError } from '../errors.js';

export function size(option: string, value: unknown): number {
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt])?(i?b)?$/i.exec(text);
  const n = m ? bytes.parse(`${m[1]}${m[2] ? `${m[2]}b` : m[3] ? 'b' : ''}`) : null;
  if (n === null || !Number.isFinite(n) || n < 0) throw new UsageError(`--${option}: '${text}' is not a size (try 0, 512KiB, 1MiB, 2GiB)`);
  return Math.floor(n);
}

/** 1536 -> "1.5 KiB". */
export function sizeText(n: number): string {
  return (bytes.format(n, { unitSeparator: ' ', decimalPlaces: 1 }) ?? `${n} B`).replace(/([KMGTP])B$/, '$1iB');
}
