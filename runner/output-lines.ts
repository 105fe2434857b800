/**
 * A step's console output as lines (issue 12 item 5): a command's stdout and stderr, and a step
 * thread's console, are cut at newlines; a carriage return without a newline (a tqdm progress
 * bar) ends a *partial* line: an update of the line in progress, which a terminal redraws in
 * place and everything else ignores, keeping only the line's final text.
 */

export type LineSink = (line: string, partial: boolean) => void;

export class OutputLines {
  private buffer = '';
  private pendingCr = false;

  constructor(private readonly sink: LineSink) {}

  write(chunk: string): void {
    for (const c of chunk) {
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === '\n') {
          this.line();
          continue;
        }
        this.update();
      }
      if (c === '\n') this.line();
      else if (c === '\r') this.pendingCr = true;
      else this.buffer += c;
    }
  }

  /** The stream ended: what is left is a last line without its newline. */
  end(): void {
    this.pendingCr = false;
    this.line();
  }

  private line(): void {
    const text = this.buffer;
    this.buffer = '';
    if (text.trim() !== '') this.sink(text, false);
  }

  private update(): void {
    // The text before the carriage return is a finished frame of the progress line; the last
    // frame before the newline becomes the line itself.
    const text = this.buffer;
    this.buffer = '';
    if (text.trim() !== '') this.sink(text, true);
  }
}
