import { describe, expect, it } from 'vitest';
import { describeResult, labelOf } from '../../src/lib/admin/result-view';

describe('a run result as a person reads it', () => {
  it('names fields in words, writes bytes in MB, ratios as %, times in UTC and folds lists of ids', () => {
    const ids = Array.from({ length: 120 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const items = describeResult({
      run_id: 'x',
      status: 'succeeded',
      errors: [],
      deleted_count: 48000,
      tempUploadBytesFreed: 5_529_600,
      failure_rate: 0.25,
      cutoff_time: '2026-11-22T12:00:00.000Z',
      deleted_ids: ids.slice(0, 100),
      deleted_ids_truncated: true,
      stuckRunIds: [ids[0]],
      partial: false,
      pruned: { cron_job_runs: 12, audit_logs: 0 },
    });
    const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
    // Shown elsewhere on the page: status, errors, run id.
    expect(Object.keys(byKey)).toEqual(['deleted_count', 'tempUploadBytesFreed', 'failure_rate', 'cutoff_time', 'deleted_ids', 'stuckRunIds', 'partial', 'pruned']);
    expect(byKey.deleted_count).toMatchObject({ label: 'Deleted', text: '48,000' });
    expect(byKey.tempUploadBytesFreed).toMatchObject({ label: 'Temp upload bytes freed', text: '5.3 MB', title: '5,529,600 bytes' });
    expect(byKey.failure_rate).toMatchObject({ text: '25.0%' });
    expect(byKey.cutoff_time).toMatchObject({ title: '2026-11-22T12:00:00.000Z' });
    expect((byKey.cutoff_time as { text: string }).text).toContain('2026-11-22');
    expect(byKey.deleted_ids).toMatchObject({ kind: 'list', label: 'Deleted IDs', summary: '100 ids listed (more not listed)', more: true });
    expect(byKey.stuckRunIds).toMatchObject({ kind: 'list', label: 'Stuck run IDs', summary: '1 id', entries: [ids[0]] });
    expect(byKey.partial).toMatchObject({ text: 'no' });
    expect(byKey.pruned).toMatchObject({ kind: 'group', items: [{ label: 'Cron job runs', text: '12' }, { label: 'Audit logs', text: '0' }] });
  });

  it('has nothing to show for a run without a result', () => {
    expect(describeResult(null)).toEqual([]);
    expect(labelOf('rows_affected')).toBe('Rows affected');
  });
});
