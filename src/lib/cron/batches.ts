import type { Budget } from './types';

export interface BatchLoopOutcome {
  /** False when the time budget stopped the loop before `batch` said it was done. */
  finished: boolean;
  batches: number;
  slowestMs: number;
}

/**
 * Calls `batch` while it reports more work (returns true) and the budget has room for another
 * batch, estimated at twice the slowest one so far. Jobs report `partial` when not finished.
 */
export async function loopBatches(
  budget: Pick<Budget, 'hasTimeFor'> | undefined,
  batch: () => Promise<boolean>,
): Promise<BatchLoopOutcome> {
  let batches = 0;
  let slowestMs = 0;
  for (;;) {
    if (budget && !budget.hasTimeFor(slowestMs * 2)) return { finished: false, batches, slowestMs };
    const t = performance.now();
    const more = await batch();
    slowestMs = Math.max(slowestMs, performance.now() - t);
    batches++;
    if (!more) return { finished: true, batches, slowestMs };
  }
}
