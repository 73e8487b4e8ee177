// Masking, as CI systems mask registered secrets in their logs: every secret waiter
// knows (the kitchen's password, the serve token, deliver --mask NAME's values) is
// replaced by *** in what a job's output becomes before it leaves the process: the
// live output, the tail kept on the order, errors, collected file names.
//
// Output comes in chunks cut anywhere, so a secret may arrive in two. A stream masker
// holds back only the end of a chunk that could be the start of a secret (at most
// len(secret) - 1 bytes, and only when those bytes match the secret's beginning), and
// sends it on with the next chunk or at the end: nothing is held when output does not
// look like a secret, so a prompt without a newline still shows at once.

export const STARS = '***';
const STARS_BYTES = Buffer.from(STARS);

/** One stream's masking: push every chunk in order, then end() once for what was held back. */
export interface StreamMask {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/**
 * Secrets shorter than this (in characters) are not masked: a password "1" would turn
 * waiter's own "exit code 1" into "exit code ***" and every 1 of the output with it.
 * deliver says so once at its start (GitLab refuses to mask variables under 8).
 */
export const MIN_SECRET_LENGTH = 4;

export function tooShortToMask(secret: string): boolean {
  return [...secret].length < MIN_SECRET_LENGTH;
}

export class Masker {
  /** Longest first: a secret holding another is replaced whole. */
  private readonly secrets: Buffer[];
  /** First bytes of the secrets: a chunk's end is looked at only from such a byte. */
  private readonly firsts: Set<number>;
  private readonly longest: number;

  constructor(secrets: Iterable<string>) {
    const texts = [...new Set(secrets)].filter((s) => !tooShortToMask(s));
    this.secrets = texts.map((s) => Buffer.from(s)).sort((a, b) => b.length - a.length);
    this.firsts = new Set(this.secrets.map((s) => s[0]!));
    this.longest = this.secrets[0]?.length ?? 0;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** A whole text (an error line, a file name, the output tail), masked as a stream of it would be. */
  text = (s: string): string => {
    if (this.empty) return s;
    const buf = Buffer.from(s);
    const { out } = this.scan(buf, true);
    return out === buf ? s : out.toString();
  };

  /** A masker for one stream of chunks (stdout or stderr of one process). */
  stream(): StreamMask {
    let held: Buffer = Buffer.alloc(0);
    return {
      push: (chunk) => {
        const { out, keep } = this.scan(held.length ? Buffer.concat([held, chunk]) : chunk, false);
        // Copied: the chunk's memory belongs to the stream.
        held = keep.length ? Buffer.from(keep) : Buffer.alloc(0);
        return out;
      },
      end: () => {
        const rest = held;
        held = Buffer.alloc(0);
        return this.scan(rest, true).out;
      },
    };
  }

  /**
   * buf with every secret replaced, leftmost first and the longest at one place; unless
   * final, the end that could begin a secret (one still able to win over a match found)
   * is kept back instead. Each secret's next place is remembered and searched again only
   * once a match has passed it: one pass over buf per secret, however many matches.
   */
  private scan(buf: Buffer, final: boolean): { out: Buffer; keep: Buffer } {
    const next = this.secrets.map((s) => buf.indexOf(s));
    const out: Buffer[] = [];
    let pos = 0;
    // Where the end that could begin a secret starts (buf.length: nowhere), from pos.
    let tail = final ? buf.length : buf.length - this.startOfSecret(buf, 0);
    for (;;) {
      let at = -1;
      let len = 0;
      for (let k = 0; k < next.length; k++) {
        if (next[k] !== -1 && next[k]! < pos) next[k] = buf.indexOf(this.secrets[k]!, pos);
        const i = next[k]!;
        if (i !== -1 && (at === -1 || i < at)) {
          at = i;
          len = this.secrets[k]!.length;
        }
      }
      // A secret that begins at or before this match and runs past the end may be the one to mask: wait for more.
      if (at === -1 || at >= tail) break;
      out.push(buf.subarray(pos, at), STARS_BYTES);
      pos = at + len;
      if (pos > tail) tail = buf.length - this.startOfSecret(buf, pos);
    }
    const keep = buf.subarray(Math.max(pos, tail));
    if (out.length === 0) return { out: keep.length ? buf.subarray(0, buf.length - keep.length) : buf, keep };
    out.push(buf.subarray(pos, buf.length - keep.length));
    return { out: Buffer.concat(out), keep };
  }

  /** The length of the longest end of buf[from..] that a secret begins with (shorter than that secret). */
  private startOfSecret(buf: Buffer, from: number): number {
    for (let k = Math.min(this.longest - 1, buf.length - from); k > 0; k--) {
      const start = buf.length - k;
      if (!this.firsts.has(buf[start]!)) continue;
      for (const s of this.secrets) if (s.length > k && buf.compare(s, 0, k, start) === 0) return k;
    }
    return 0;
  }
}
