// A one-line progress bar for long CLI steps. Draws on a TTY only; elsewhere it prints nothing,
// so that piped output and logs stay clean. Writes to stderr: stdout is for results.

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 28,
  ) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** fraction in [0, 1] or undefined when unknown; label says what is happening. */
  update(fraction: number | undefined, label: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && fraction !== 1) return; // at most 10 redraws a second
    this.lastDraw = now;
    const columns = this.stream.columns ?? 80;
    let bar = '';
    if (fraction !== undefined) {
      const clamped = Math.min(1, Math.max(0, fraction));
      const filled = Math.round(clamped * this.width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}% `;
    }
    const line = (bar + label).slice(0, columns - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Clears the bar so the next line starts clean. */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
