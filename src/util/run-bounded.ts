/**
 * Runs `tasks`, at most `limit` at a time, in the order given. The first failure is thrown once
 * the tasks already running have settled, and no task starts after it (as a plain loop would stop).
 */
export async function runBounded(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
