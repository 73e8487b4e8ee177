// A progress bar with rate and ETA on stderr for long work (load, extract): only when
// stderr is a terminal and not --quiet; colour only without NO_COLOR. Drawn by
// cli-progress, which redraws at most 10 times a second whatever the update rate.
import type { Writable } from 'node:stream';
import type cliProgress from 'cli-progress';

export interface Progress {
  /** False when nothing is drawn (not a terminal, or --quiet): skip work done only for the bar. */
  readonly enabled: boolean;
  /** Begin a phase: `label` and its total (units: rows, bytes…); total may come later. */
  start(label: string, total: number | undefined, unit: string): void;
  setTotal(total: number): void;
  /** Add done units; cheap enough to call per row. */
  add(n: number): void;
  /** End the phase, leaving the last drawing on its own line. */
  stop(): void;
}

const NONE: Progress = { enabled: false, start() {}, setTotal() {}, add() {}, stop() {} };

/** How often (in units) the bar is told the new value: the counting itself is free. */
const UPDATE_EVERY = 1000;

export async function progress(stderr: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv, quiet: boolean): Promise<Progress> {
  if (quiet || !stderr.isTTY) return NONE;
  // Loaded only when a bar is drawn: piped and scripted runs start without it.
  const { default: bars } = await import('cli-progress');
  const colour = !env.NO_COLOR; // https://no-color.org: set and non-empty means no colour
  let bar: cliProgress.SingleBar | undefined;
  let value = 0;
  let told = 0;
  let since = 0;
  let unit = '';
  const payload = () => ({ rate: rate(value, Date.now() - since), unit });
  return {
    enabled: true,
    start(label, total, u) {
      unit = u;
      value = told = 0;
      since = Date.now();
      bar = new bars.SingleBar({ ...barOptions(label, colour), stream: stderr }, bars.Presets.shades_classic);
      bar.start(total ?? 0, 0, payload());
    },
    setTotal(total) {
      bar?.setTotal(total);
    },
    add(n) {
      value += n;
      if (value - told >= UPDATE_EVERY) {
        told = value;
        bar?.update(value, payload());
      }
    },
    stop() {
      if (!bar) return;
      bar.update(value, payload());
      bar.stop();
      bar = undefined;
    },
  };
}

/** The bar's look (with the preset shades_classic; test/progress-bar.test.ts draws it on fixed figures). */
export function barOptions(label: string, colour: boolean): cliProgress.Options {
  const b = colour ? '\u001b[32m{bar}\u001b[39m' : '{bar}';
  return {
    format: `${label.padEnd(8)} ${b} {percentage}% | {value}/{total} {unit} | {rate} {unit}/s | ETA {eta_formatted}`,
    hideCursor: true,
    etaBuffer: 50,
    barsize: 30,
  };
}

/** Units a second, as the bar shows them (`35k` from 10,000 on). */
export function rate(n: number, ms: number): string {
  const r = ms > 0 ? (n * 1000) / ms : 0;
  return r >= 10_000 ? `${Math.round(r / 1000)}k` : String(Math.round(r));
}
