/** Promises that tests and tools wait on until something passes their test (an open-poll count, a request). */

interface Waiter<T> {
  test: (x: T) => boolean;
  resolve: (x: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waiters<T> {
  private list: Array<Waiter<T>> = [];

  /** Resolves with the first offered value that passes `test`; rejects with `timeoutError()` after `timeoutMs`. */
  wait(test: (x: T) => boolean, timeoutMs: number, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = {
        test,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.list = this.list.filter((x) => x !== w);
          reject(timeoutError());
        }, timeoutMs),
      };
      this.list.push(w);
    });
  }

  /** Resolves (and forgets) every waiter whose test `x` passes. */
  offer(x: T): void {
    if (this.list.length === 0) return;
    const ready = this.list.filter((w) => w.test(x));
    if (ready.length === 0) return;
    this.list = this.list.filter((w) => !ready.includes(w));
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve(x);
    }
  }

  /** Rejects (and forgets) every waiter. */
  rejectAll(err: Error): void {
    for (const w of this.list) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.list = [];
  }
}
