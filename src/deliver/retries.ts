// This waiter's own failed orders put back READY with a later `due` (--retry-delay):
// without --wait, an empty list does not end the run while one may still come due.

export class OwnRetries {
  /** By order id: when it comes due. */
  private readonly due = new Map<string, Date>();
  private told = 0;

  constructor(private readonly log: (line: string) => void) {}

  add(id: string, due: Date): void {
    this.due.set(id, due);
  }

  /**
   * After a claim at `at` found nothing: how long to sleep before claiming again, or
   * null when none of mine can still come due. One whose time had come by `at` is
   * forgotten (the claim did not find it: someone took it).
   */
  wait(at: Date): number | null {
    for (const [id, due] of this.due) if (due <= at) this.due.delete(id);
    if (this.due.size === 0) return null;
    const next = Math.min(...[...this.due.values()].map(Number));
    if (next !== this.told) {
      this.told = next;
      this.log(`waiter: nothing due now; waiting for ${this.due.size} retry(ies) of mine, the next at ${new Date(next).toISOString()}`);
    }
    return Math.max(0, next - Date.now()) + 5;
  }
}
