// A result that may arrive later: JoinGroup and SyncGroup park until the rest of the group catches
// up. The state machine settles it synchronously (so tests can read `value` right after a call),
// and a request handler simply awaits `promise`. Settling twice is ignored: the first answer wins,
// which is what lets "fence the old request" and "answer on unload" race safely.
export class Completion<T> {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #settled = false;
  #value: T | undefined;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.#resolve = resolve;
    });
  }

  static of<T>(value: T): Completion<T> {
    const completion = new Completion<T>();
    completion.settle(value);
    return completion;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The result once settled, else undefined. */
  get value(): T | undefined {
    return this.#value;
  }

  /** Returns false (and changes nothing) when the completion already had a result. */
  settle(value: T): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#value = value;
    this.#resolve(value);
    return true;
  }
}
