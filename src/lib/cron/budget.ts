import type { Budget } from './types';

/**
 * A deadline a little before the platform's: `reserveMs` is kept for recording the run and
 * answering. `clock` is injectable so tests can run a budget out deterministically.
 */
export function createBudget(totalMs: number, reserveMs = 3_000, clock: () => number = Date.now): Budget {
  const deadline = clock() + Math.max(0, totalMs - reserveMs);
  return {
    deadline,
    remainingMs: () => Math.max(0, deadline - clock()),
    hasTimeFor: (estimateMs: number) => deadline - clock() > Math.max(0, estimateMs),
  };
}
