// Process faults by pid: crash (SIGKILL), graceful stop (SIGTERM), freeze (SIGSTOP then SIGCONT).
// Only ever aimed at processes the harness started itself.
export type ProcessFault = 'kill' | 'terminate' | 'pause';

/** True when the signal was delivered (false: the process is already gone). */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export function killProcess(pid: number): boolean {
  return signalProcess(pid, 'SIGKILL');
}

export function terminateProcess(pid: number): boolean {
  return signalProcess(pid, 'SIGTERM');
}

/**
 * Freezes the process for `pauseMs` (a GC pause, a VM stall, a laptop lid) and thaws it. The
 * SIGCONT is sent even if the wait is interrupted, so a failed test never leaves a stopped process.
 */
export async function pauseProcess(pid: number, pauseMs: number, signal?: AbortSignal): Promise<void> {
  if (!signalProcess(pid, 'SIGSTOP')) return;
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pauseMs);
      signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  } finally {
    signalProcess(pid, 'SIGCONT');
  }
}
