import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError, type JobResult } from '../cron/types';
import { assertObjectPath } from '../storage/types';

/**
 * The most rows one rpc answers: PostgREST on Supabase cuts a longer result at its max-rows
 * (1000 by default) without an error, so list_expired_temp_uploads pages by it.
 */
export const MAX_ROWS_PER_CALL = 1000;

/** The rules' thresholds. Only the stuck-run threshold can be changed per call (`?hours=`). */
export const MAINTENANCE_RULES = {
  stuckHours: 24,
  tempUploadHours: 24,
  compactAfterDays: 7,
  rawItemsAfterDays: 30,
  batchSize: 1000,
} as const;

export const MAINTENANCE_STEPS = ['stuck_runs', 'temp_uploads', 'compact_import_jobs', 'raw_items'] as const;
export type MaintenanceStep = (typeof MAINTENANCE_STEPS)[number];
export type StepStatus = 'ok' | 'failed' | 'partial' | 'skipped';

/**
 * After this many failed attempts (one per run: an invalid path, storage refusing the object) an
 * expired temp upload is set aside with its reason instead of being read again on every run; the
 * maintenance.temp_uploads_set_aside alert says so. The same rule as export files.
 */
export const TEMP_UPLOAD_MAX_ATTEMPTS = 3;

/** Per-path errors listed in one result; the rest are counted in one closing entry. */
const MAX_LISTED_ERRORS = 100;

const input = z.strictObject({
  hours: q.int(1, 720).optional(),
  batchSize: q.int(1, 10_000).optional(),
});
export type MaintenanceInput = z.infer<typeof input>;

interface TempUploadRow {
  /** The team's key, as text. */
  id: string;
  storage_path: string;
  size_bytes: number;
  /** Another live row of a bound table references the path: the object stays, the row may go. */
  path_in_use: boolean;
}

/** True when `path` is `prefix` itself or lies below it ('archive/export-logs/2026/...'). */
export function isUnderPrefix(path: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p !== '' && (path === p || path.startsWith(`${p}/`));
}

export interface MaintenanceResult extends JobResult {
  stuckRunsMarked: number;
  tempUploadsPurged: number;
  importJobsCompacted: number;
  rawItemsPurged: number;
  tempUploadsFailed: number;
  /** Expired temp upload rows removed while their object stayed: still referenced, or archived. */
  tempUploadObjectsKept: number;
  /**
   * Temp uploads set aside by this run after TEMP_UPLOAD_MAX_ATTEMPTS failed attempts: later runs
   * leave them alone until an operator releases them (cronwarden.temp_upload_release).
   */
  set_aside_count: number;
  /** Bytes of the objects removed (a row whose object stayed frees none). */
  tempUploadBytesFreed: number;
  importJobBytesFreed: number;
  stuckRunIds: string[];
  steps: Record<MaintenanceStep, StepStatus>;
  thresholds: { stuckHours: number; tempUploadHours: number; compactAfterDays: number; rawItemsAfterDays: number };
  batchSize: number;
  batches: number;
}

/**
 * Import maintenance over the imports binding: marks stuck runs failed, removes expired temp
 * uploads (object, then row; the object stays while another live row of a bound table references
 * its path, and always under the export archive prefix; a row whose removal failed
 * TEMP_UPLOAD_MAX_ATTEMPTS runs in a row, such as one with an invalid path, is set aside and
 * counted in `set_aside_count`), compacts old finished import jobs and
 * deletes raw items of long-failed runs. A part the binding leaves out (rawItems, tempUploads or
 * jobs set to false) is a skipped step. Each step is isolated: one that fails (storage down, a
 * SQL error) is reported in `errors` and the others still run; the run fails only when every step
 * that ran failed. Temp uploads are read a page of at most 1000 rows at a time until none is left
 * or the time budget ends the run (then `partial: true`). In a dry run the counts are what each
 * step would change; nothing is changed.
 */
export const maintenanceJob = defineJob({
  name: 'maintenance',
  description: 'Import maintenance: stuck runs, temp uploads, import job compaction, raw items of failed runs',
  feature: 'imports',
  input,
  maxDurationSeconds: 300,
  async run({ db, storage, log, input, dryRun, startedAt, budget, bindings, config }): Promise<MaintenanceResult> {
    const stuckHours = input.hours ?? MAINTENANCE_RULES.stuckHours;
    const batchSize = input.batchSize ?? MAINTENANCE_RULES.batchSize;
    const errors: JobError[] = [];
    let unlisted = 0;
    const addError = (subject: string, message: string) => {
      if (errors.length < MAX_LISTED_ERRORS) errors.push({ subject, message: message.slice(0, 500) });
      else unlisted++;
    };
    const steps = Object.fromEntries(MAINTENANCE_STEPS.map((s) => [s, 'skipped'])) as Record<MaintenanceStep, StepStatus>;
    const bound: Record<MaintenanceStep, boolean> = {
      stuck_runs: true,
      temp_uploads: bindings.imports.tempUploads !== false,
      compact_import_jobs: bindings.imports.jobs !== false,
      raw_items: bindings.imports.rawItems !== false,
    };
    const archivePrefix = config.exports.archivePrefix;
    let partial = false;
    let batches = 0;

    let stuckRunsMarked = 0;
    const stuckRunIds: string[] = [];
    let tempUploadsPurged = 0;
    let tempUploadsFailed = 0;
    let setAsideCount = 0;
    let tempUploadObjectsKept = 0;
    let tempUploadBytesFreed = 0;
    let importJobsCompacted = 0;
    let importJobBytesFreed = 0;
    let rawItemsPurged = 0;

    /** Calls `batch` while it says there is more and the time budget allows another one. */
    const loop = async (batch: () => Promise<boolean>): Promise<boolean> => {
      const outcome = await loopBatches(budget, batch);
      batches += outcome.batches;
      return outcome.finished;
    };

    const step = async (name: MaintenanceStep, count: () => number, body: () => Promise<boolean>) => {
      if (!bound[name]) {
        log.info({ type: 'maintenance_step', step: name, status: 'skipped', count: 0, dry_run: dryRun, reason: 'not bound' }, `maintenance step ${name}: not bound`);
        return;
      }
      const t = performance.now();
      try {
        const finished = await body();
        steps[name] = finished ? 'ok' : 'partial';
        if (!finished) partial = true;
        log.info(
          { type: 'maintenance_step', step: name, status: steps[name], count: count(), dry_run: dryRun, duration_ms: Math.round(performance.now() - t) },
          `maintenance step ${name}: ${count()}`,
        );
      } catch (err) {
        steps[name] = 'failed';
        const message = err instanceof Error ? err.message : String(err);
        addError(name, message);
        log.error(
          { type: 'maintenance_step_failed', step: name, count: count(), dry_run: dryRun, err, duration_ms: Math.round(performance.now() - t) },
          `maintenance step ${name} failed`,
        );
      }
    };

    await step('stuck_runs', () => stuckRunsMarked, () =>
      loop(async () => {
        const [row] = await db.rpc<{ marked_count: number; run_ids: string[]; has_more: boolean }>('mark_stuck_import_runs', {
          p_hours: stuckHours,
          p_batch_size: batchSize,
          p_dry_run: dryRun,
          p_now: startedAt,
        });
        stuckRunsMarked += row.marked_count;
        for (const id of row.run_ids) if (stuckRunIds.length < MAX_LISTED_ERRORS) stuckRunIds.push(id);
        return !dryRun && row.has_more;
      }),
    );

    await step('temp_uploads', () => tempUploadsPurged, () => {
      let after: string | undefined;
      // Pages until one comes back empty: a page shorter than asked proves nothing, since a
      // server may cut results shorter than we asked (max-rows).
      return loop(async () => {
        const rows = await db.rpc<TempUploadRow>('list_expired_temp_uploads', {
          p_hours: MAINTENANCE_RULES.tempUploadHours,
          p_batch_size: Math.min(batchSize, MAX_ROWS_PER_CALL),
          p_after_id: after,
          p_now: startedAt,
        });
        if (rows.length === 0) return false;
        after = rows[rows.length - 1].id;
        const removable: TempUploadRow[] = [];
        const keepObject: TempUploadRow[] = [];
        // Rows whose removal failed this run, with the reason: each counts one attempt.
        const failedRows: { row: TempUploadRow; subject: string; error: string }[] = [];
        for (const r of rows) {
          try {
            assertObjectPath(r.storage_path);
          } catch {
            failedRows.push({ row: r, subject: `temp_uploads:${r.id}`, error: `not a valid storage path: ${JSON.stringify(r.storage_path).slice(0, 200)}` });
            continue;
          }
          if (r.path_in_use || isUnderPrefix(r.storage_path, archivePrefix)) keepObject.push(r);
          else removable.push(r);
        }
        if (dryRun) {
          tempUploadsFailed += failedRows.length;
          for (const f of failedRows) addError(f.subject, `${f.error}; row kept`);
          tempUploadsPurged += removable.length + keepObject.length;
          tempUploadObjectsKept += keepObject.length;
          tempUploadBytesFreed += removable.reduce((n, r) => n + Number(r.size_bytes), 0);
          return true;
        }
        const paths = [...new Set(removable.map((r) => r.storage_path))];
        const outcome = paths.length ? await storage.remove(paths) : { removed: [], failed: [] };
        const storageErrors = new Map(outcome.failed.map((f) => [f.path, f.error]));
        const removed = new Set(outcome.removed);
        const gone: TempUploadRow[] = [];
        for (const r of removable) {
          const error = storageErrors.get(r.storage_path) ?? (removed.has(r.storage_path) ? undefined : 'storage did not report the object as removed');
          if (error === undefined) gone.push(r);
          else failedRows.push({ row: r, subject: `temp_uploads:${r.storage_path}`, error });
        }
        tempUploadsFailed += failedRows.length;
        if (failedRows.length) {
          const [rec] = await db.rpc<{ failures_recorded: number; set_aside_ids: string[] }>('temp_upload_record_failures', {
            p_ids: failedRows.map((f) => f.row.id),
            p_errors: failedRows.map((f) => f.error),
            p_now: startedAt,
            p_max_attempts: TEMP_UPLOAD_MAX_ATTEMPTS,
          });
          const aside = new Set(rec.set_aside_ids);
          setAsideCount += aside.size;
          for (const f of failedRows) {
            addError(
              f.subject,
              aside.has(f.row.id)
                ? `${f.error}; set aside after ${TEMP_UPLOAD_MAX_ATTEMPTS} failed attempts`
                : `${f.error}; row kept for the next run`,
            );
          }
          if (aside.size > 0) {
            log.error(
              { type: 'temp_upload_set_aside', count: aside.size, upload_ids: [...aside].slice(0, 20) },
              `temp uploads set aside after ${TEMP_UPLOAD_MAX_ATTEMPTS} failed attempts`,
            );
          }
        }
        const ids = [...gone, ...keepObject].map((r) => r.id);
        if (ids.length) {
          const [d] = await db.rpc<{ deleted_count: number; bytes_freed: number; deleted_ids: string[] }>('delete_temp_uploads', {
            p_ids: ids,
            p_hours: MAINTENANCE_RULES.tempUploadHours,
            p_now: startedAt,
          });
          const deleted = new Set(d.deleted_ids);
          tempUploadsPurged += d.deleted_count;
          tempUploadObjectsKept += keepObject.filter((r) => deleted.has(r.id)).length;
          tempUploadBytesFreed += gone.filter((r) => deleted.has(r.id)).reduce((n, r) => n + Number(r.size_bytes), 0);
        }
        return true;
      });
    });

    await step('compact_import_jobs', () => importJobsCompacted, () =>
      loop(async () => {
        const [row] = await db.rpc<{ compacted_count: number; bytes_freed: number; has_more: boolean }>('compact_old_import_jobs', {
          p_days: MAINTENANCE_RULES.compactAfterDays,
          p_batch_size: batchSize,
          p_dry_run: dryRun,
          p_now: startedAt,
        });
        importJobsCompacted += row.compacted_count;
        importJobBytesFreed += Number(row.bytes_freed);
        return !dryRun && row.has_more;
      }),
    );

    await step('raw_items', () => rawItemsPurged, () =>
      loop(async () => {
        const [row] = await db.rpc<{ deleted_count: number; has_more: boolean }>('purge_failed_run_raw_items', {
          p_days: MAINTENANCE_RULES.rawItemsAfterDays,
          p_batch_size: batchSize,
          p_dry_run: dryRun,
          p_now: startedAt,
        });
        rawItemsPurged += row.deleted_count;
        return !dryRun && row.has_more;
      }),
    );

    if (unlisted > 0) errors.push({ subject: 'temp_uploads', message: `${unlisted} more errors not listed` });
    const failedSteps = MAINTENANCE_STEPS.filter((s) => steps[s] === 'failed');
    const ranSteps = MAINTENANCE_STEPS.filter((s) => steps[s] !== 'skipped');
    log.info(
      {
        type: 'maintenance_summary',
        dry_run: dryRun,
        stuck_runs_marked: stuckRunsMarked,
        temp_uploads_purged: tempUploadsPurged,
        temp_uploads_failed: tempUploadsFailed,
        temp_upload_objects_kept: tempUploadObjectsKept,
        temp_uploads_set_aside: setAsideCount,
        import_jobs_compacted: importJobsCompacted,
        raw_items_purged: rawItemsPurged,
        failed_steps: failedSteps,
        skipped_steps: MAINTENANCE_STEPS.filter((s) => steps[s] === 'skipped'),
        partial,
      },
      'maintenance finished',
    );
    return {
      errors,
      rows_affected: dryRun ? 0 : stuckRunsMarked + tempUploadsPurged + importJobsCompacted + rawItemsPurged,
      stuckRunsMarked,
      tempUploadsPurged,
      importJobsCompacted,
      rawItemsPurged,
      tempUploadsFailed,
      tempUploadObjectsKept,
      set_aside_count: setAsideCount,
      tempUploadBytesFreed,
      importJobBytesFreed,
      stuckRunIds,
      steps,
      thresholds: {
        stuckHours,
        tempUploadHours: MAINTENANCE_RULES.tempUploadHours,
        compactAfterDays: MAINTENANCE_RULES.compactAfterDays,
        rawItemsAfterDays: MAINTENANCE_RULES.rawItemsAfterDays,
      },
      batchSize,
      batches,
      partial,
      failed: ranSteps.length > 0 && failedSteps.length === ranSteps.length,
    };
  },
});

/** The seed's response: `{ timestamp, stuckRunsMarked, tempUploadsPurged, importJobsCompacted, rawItemsPurged, errors }`. */
export interface MaintenanceSummary {
  timestamp: string;
  stuckRunsMarked: number;
  tempUploadsPurged: number;
  importJobsCompacted: number;
  rawItemsPurged: number;
  /** One line per problem: "<step or path>: <message>". */
  errors: string[];
  runId: string;
  dryRun: boolean;
  partial: boolean;
}

export function maintenanceSummary(result: JobResult & { run_id: string; dry_run: boolean; partial: boolean; timestamp: string }): MaintenanceSummary {
  return {
    timestamp: result.timestamp,
    stuckRunsMarked: Number(result.stuckRunsMarked ?? 0),
    tempUploadsPurged: Number(result.tempUploadsPurged ?? 0),
    importJobsCompacted: Number(result.importJobsCompacted ?? 0),
    rawItemsPurged: Number(result.rawItemsPurged ?? 0),
    errors: result.errors.map((e) => `${e.subject}: ${e.message}`),
    runId: result.run_id,
    dryRun: result.dry_run,
    partial: result.partial,
  };
}
