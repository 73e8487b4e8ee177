// The one exact CPU figure a Node parent can get for a child without a native add-on:
// its own cutime/cstime in /proc/self/stat, which grow by a child's whole CPU (with what
// that child waited for) when libuv reaps it. Node gives nothing else: child_process
// has no rusage (libuv reaps with waitpid, not wait4) and process.resourceUsage() is
// this process's own.
//
// The counter is the process's, not a child's: a rise is one command's only when that
// command was the only child reaped in between. libuv reaps every exited child in one
// pass and then calls their exit callbacks, all before the event loop's check phase:
// so the counter is read once per pass (setImmediate after the first exit callback),
// and the rise goes to the command when its exit was the pass's only one. Two commands
// ending in the same pass get none (their samples stand). This holds while every child
// of this process is metered (deliver's case: it spawns nothing but orders).
import { reapedTicks } from './proc.js';

type Told = (ticks: number | undefined) => void;

export class Reaps {
  /** The counter after the last pass (or before the first metered spawn). */
  private last: number | undefined;
  private pass: Told[] = [];

  /** `read`: the counter (tests give their own). */
  constructor(private readonly read: () => number | undefined = reapedTicks) {}

  /** Before a metered spawn: the counter's starting point, once. */
  spawning(): void {
    if (this.last === undefined) this.last = this.read();
  }

  /** In a metered command's exit callback: the command's CPU (ticks), or undefined when it was not alone in its pass. */
  reaped(): Promise<number | undefined> {
    return new Promise((told) => {
      if (this.pass.push(told) === 1) setImmediate(() => this.close());
    });
  }

  private close(): void {
    const now = this.read();
    const pass = this.pass;
    this.pass = [];
    const rise = now === undefined || this.last === undefined ? undefined : now - this.last;
    this.last = now;
    for (const told of pass) told(pass.length === 1 ? rise : undefined);
  }
}
