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

export class Masker {
  /** Longest first: a secret holding another is replaced whole. */
  private readonly secrets: Buffer[];
  private readonly texts: string[];
  /** First bytes of the secrets: a chunk's end is looked at only from such a byte. */
  private readonly firsts: Set<number>;
  private readonly longest: number;

  constructor(secrets: Iterable<string>) {
    this.texts = [...new Set(secrets)].filter((s) => s !== '').sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a));
    this.secrets = this.texts.map((s) => Buffer.from(s));
    this.firsts = new Set(this.secrets.map((s) => s[0]!));
    this.longest = this.secrets[0]?.length ?? 0;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** A whole text (an error line, a file name, the output tail), masked. */
  text = (s: string): string => {
    for (const secret of this.texts) if (s.includes(secret)) s = s.split(secret).join(STARS);
    return s;
  };

  /** A masker for one stream of chunks (stdout or stderr of one process). */
  stream(): StreamMask {
    let held: Buffer = Buffer.alloc(0);
    return {
      push: (chunk) => {
        const buf = held.length ? Buffer.concat([held, chunk]) : chunk;
        const out: Buffer[] = [];
        let pos = 0;
        for (;;) {
          let at = -1;
          let len = 0;
          for (const s of this.secrets) {
            const i = buf.indexOf(s, pos);
            if (i !== -1 && (at === -1 || i < at)) {
              at = i;
              len = s.length;
            }
          }
          if (at === -1) break;
          out.push(buf.subarray(pos, at), STARS_BYTES);
          pos = at + len;
        }
        const keep = this.startOfSecret(buf, pos);
        // Copied: the chunk's memory belongs to the stream.
        held = keep ? Buffer.from(buf.subarray(buf.length - keep)) : Buffer.alloc(0);
        if (out.length === 0) return keep ? buf.subarray(0, buf.length - keep) : buf;
        out.push(buf.subarray(pos, buf.length - keep));
        return Buffer.concat(out);
      },
      end: () => {
        const rest = held;
        held = Buffer.alloc(0);
        return rest;
      },
    };
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
