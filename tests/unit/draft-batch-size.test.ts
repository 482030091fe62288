import { describe, expect, it } from 'vitest';
import { BATCH_TARGET_MS, DEFAULT_BATCH_SIZE, nextBatchSize } from '../../src/lib/jobs/draft-cleanup';

describe('draft cleanup batch size (default batches sized by time)', () => {
  it('grows a fast batch toward the target time, at most doubling, up to 10,000', () => {
    expect(nextBatchSize(DEFAULT_BATCH_SIZE, 23)).toBe(10_000);
    expect(nextBatchSize(2000, 10)).toBe(4000);
    expect(nextBatchSize(8000, 40)).toBe(10_000);
  });

  it('keeps a batch that takes the target time, and shrinks a slow one, at most halving, down to 500', () => {
    expect(nextBatchSize(5000, BATCH_TARGET_MS)).toBe(5000);
    expect(nextBatchSize(5000, 125)).toBe(4000);
    expect(nextBatchSize(5000, 2000)).toBe(2500);
    expect(nextBatchSize(600, 5000)).toBe(500);
  });

  it('treats a call that took no measurable time as 1 ms', () => {
    expect(nextBatchSize(5000, 0)).toBe(10_000);
  });
});
