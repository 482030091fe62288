import type { Db } from '../db/types';
import type { Storage } from '../storage/types';

/**
 * Data integrity around user deletion (the seed's data-integrity validator):
 *  - manual_cleanup: dispatches / file_uploads / addresses whose user no longer exists
 *  - cascade_deletions: user_sessions / user_preferences rows whose user is gone (the cascade
 *    did not run: triggers disabled, a restore in replica mode)
 *  - foreign_key_constraints: foreign keys to users (validated or not) with dangling rows
 *  - audit_trail: deleted users without a success audit row; success rows without duration/counts
 *  - data_consistency: success audit rows whose user still exists
 *  - storage_objects: objects under the uploads prefix with no file_uploads row
 * Tables are scanned in keyset batches (one short query each); nothing is changed.
 */

export const MANUAL_CLEANUP_TABLES = ['dispatches', 'file_uploads', 'addresses'] as const;
export const CASCADE_TABLES = ['user_sessions', 'user_preferences'] as const;
type ScannedTable = (typeof MANUAL_CLEANUP_TABLES)[number] | (typeof CASCADE_TABLES)[number];

export interface LevelThresholds {
  /** More than this: warning. */
  warning: number;
  /** More than this: critical. */
  critical: number;
}

/** The seed's data integrity thresholds. */
export interface IntegrityThresholds {
  orphanedRecords: LevelThresholds;
  failedConstraints: LevelThresholds;
  auditGaps: LevelThresholds;
  inconsistencies: LevelThresholds;
}

export const DEFAULT_INTEGRITY_THRESHOLDS: IntegrityThresholds = {
  orphanedRecords: { warning: 5, critical: 10 },
  failedConstraints: { warning: 0, critical: 5 },
  auditGaps: { warning: 0, critical: 1 },
  inconsistencies: { warning: 3, critical: 10 },
};

export type Severity = 'OK' | 'LOW' | 'WARNING' | 'CRITICAL';

export interface OrphanSample {
  id: string;
  user_id: string;
}

export interface TableScan {
  scanned: number;
  orphans: number;
  samples: OrphanSample[];
  batches: number;
}

export interface ForeignKeyCheck {
  table_name: string;
  column_name: string;
  constraint_name: string;
  on_delete: string;
  validated: boolean;
  enforced: boolean;
  dangling_rows: number;
}

export interface IntegrityReport {
  data_integrity_validation: {
    validation_timestamp: string;
    total_issues_found: number;
    validation_status: 'PASSED' | 'FAILED';
    severity_level: Severity;
    duration_ms: number;
  };
  summary: Record<'foreign_key_constraints' | 'cascade_deletions' | 'manual_cleanup' | 'audit_trail' | 'data_consistency' | 'storage_objects', string>;
  counts: {
    orphaned_dispatches: number;
    orphaned_file_uploads: number;
    orphaned_addresses: number;
    cascade_leftovers: number;
    dangling_foreign_keys: number;
    deletions_without_success_audit: number;
    incomplete_audit_rows: number;
    audited_users_still_present: number;
    orphaned_storage_objects: number;
  };
  severity_by_category: Record<'orphaned_records' | 'failed_constraints' | 'audit_gaps' | 'inconsistencies', Severity>;
  checks: {
    manual_cleanup: Record<(typeof MANUAL_CLEANUP_TABLES)[number], TableScan>;
    cascade_deletions: Record<(typeof CASCADE_TABLES)[number], TableScan>;
    foreign_key_constraints: ForeignKeyCheck[];
    audit_trail: {
      deletions_recorded: number;
      audited_deletions: number;
      missing_success_audit: { count: number; user_ids: string[] };
      incomplete_audit_rows: { count: number; audit_ids: string[] };
    };
    data_consistency: { audited_but_present: { count: number; user_ids: string[] } };
    storage_objects: { prefix: string; listed: number; truncated: boolean; orphaned: { count: number; paths: string[] } } | { skipped: string };
  };
  thresholds: IntegrityThresholds;
}

export interface IntegrityOptions {
  db: Db;
  /** Omit to skip the storage check. */
  storage?: Storage;
  now?: Date;
  batchSize?: number;
  sampleLimit?: number;
  uploadsPrefix?: string;
  /** Objects listed at most; beyond it the storage check reports `truncated`. */
  storageListLimit?: number;
  thresholds?: IntegrityThresholds;
  /** Called after every batch: rows scanned so far and the estimated total. */
  onProgress?: (p: { step: string; done: number; total: number }) => void;
}

export function levelOf(value: number, t: LevelThresholds): Severity {
  if (value > t.critical) return 'CRITICAL';
  if (value > t.warning) return 'WARNING';
  return value > 0 ? 'LOW' : 'OK';
}

const ORDER: Severity[] = ['OK', 'LOW', 'WARNING', 'CRITICAL'];
const worst = (levels: Severity[]): Severity => levels.reduce((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a), 'OK' as Severity);

const issues = (n: number) => `${n} issue${n === 1 ? '' : 's'}`;

async function scanTable(
  db: Db,
  table: ScannedTable,
  batchSize: number,
  sampleLimit: number,
  progress: (rows: number) => void,
): Promise<TableScan> {
  const out: TableScan = { scanned: 0, orphans: 0, samples: [], batches: 0 };
  let after: string | null = null;
  for (;;) {
    const [r]: { scanned: number; orphan_count: number; samples: OrphanSample[] | string; last_key: string | null; has_more: boolean }[] =
      await db.rpc('user_integrity_orphans_batch', {
        p_table: table,
        p_after: after,
        p_batch_size: batchSize,
        p_sample_limit: Math.max(0, sampleLimit - out.samples.length),
      });
    out.batches++;
    out.scanned += Number(r.scanned);
    out.orphans += Number(r.orphan_count);
    const samples = typeof r.samples === 'string' ? (JSON.parse(r.samples) as OrphanSample[]) : r.samples;
    out.samples.push(...samples);
    progress(Number(r.scanned));
    if (!r.has_more || r.last_key === null) break;
    after = r.last_key;
  }
  return out;
}

export async function validateUserIntegrity(options: IntegrityOptions): Promise<IntegrityReport> {
  const { db } = options;
  const t0 = performance.now();
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 5000;
  const sampleLimit = options.sampleLimit ?? 20;
  const thresholds = options.thresholds ?? DEFAULT_INTEGRITY_THRESHOLDS;
  const prefix = options.uploadsPrefix ?? 'uploads/';

  const estimates = await db.rpc<{ table_name: string; estimated_rows: number }>('user_integrity_table_estimates');
  let total = estimates.reduce((n, e) => n + Number(e.estimated_rows), 0);
  let done = 0;
  const progress = (step: string) => (rows: number) => {
    done += rows;
    total = Math.max(total, done);
    options.onProgress?.({ step, done, total });
  };

  const manual = {} as IntegrityReport['checks']['manual_cleanup'];
  for (const table of MANUAL_CLEANUP_TABLES) manual[table] = await scanTable(db, table, batchSize, sampleLimit, progress(table));
  const cascade = {} as IntegrityReport['checks']['cascade_deletions'];
  for (const table of CASCADE_TABLES) cascade[table] = await scanTable(db, table, batchSize, sampleLimit, progress(table));

  const fks = (await db.rpc<ForeignKeyCheck>('user_integrity_foreign_keys')).map((f) => ({ ...f, dangling_rows: Number(f.dangling_rows) }));
  options.onProgress?.({ step: 'foreign_keys', done, total });

  const [audit] = await db.rpc<{
    deletions_recorded: number;
    audited_deletions: number;
    gap_count: number;
    gap_user_ids: string[];
    incomplete_count: number;
    incomplete_audit_ids: string[];
    inconsistent_count: number;
    inconsistent_user_ids: string[];
  }>('user_integrity_audit', { p_sample_limit: sampleLimit });
  options.onProgress?.({ step: 'audit_trail', done, total });

  let storageCheck: IntegrityReport['checks']['storage_objects'];
  if (options.storage) {
    const limit = options.storageListLimit ?? 100_000;
    const listed = await options.storage.list(prefix, { limit: limit + 1 });
    const truncated = listed.length > limit;
    const paths = listed.slice(0, limit).map((o) => o.path);
    const unknown: string[] = [];
    for (let i = 0; i < paths.length; i += 1000) {
      const rows = await db.rpc<{ storage_path: string }>('user_uploads_unknown_paths', { p_paths: paths.slice(i, i + 1000) });
      unknown.push(...rows.map((r) => r.storage_path));
    }
    storageCheck = { prefix, listed: paths.length, truncated, orphaned: { count: unknown.length, paths: unknown.slice(0, sampleLimit) } };
    options.onProgress?.({ step: 'storage', done, total });
  } else {
    storageCheck = { skipped: 'no storage configured for this check' };
  }

  const counts: IntegrityReport['counts'] = {
    orphaned_dispatches: manual.dispatches.orphans,
    orphaned_file_uploads: manual.file_uploads.orphans,
    orphaned_addresses: manual.addresses.orphans,
    cascade_leftovers: cascade.user_sessions.orphans + cascade.user_preferences.orphans,
    dangling_foreign_keys: fks.filter((f) => f.dangling_rows > 0).length,
    deletions_without_success_audit: Number(audit.gap_count),
    incomplete_audit_rows: Number(audit.incomplete_count),
    audited_users_still_present: Number(audit.inconsistent_count),
    orphaned_storage_objects: 'orphaned' in storageCheck ? storageCheck.orphaned.count : 0,
  };
  const manualIssues = counts.orphaned_dispatches + counts.orphaned_file_uploads + counts.orphaned_addresses;
  const auditIssues = counts.deletions_without_success_audit + counts.incomplete_audit_rows;
  const severity_by_category = {
    orphaned_records: levelOf(manualIssues + counts.cascade_leftovers + counts.orphaned_storage_objects, thresholds.orphanedRecords),
    failed_constraints: levelOf(counts.dangling_foreign_keys, thresholds.failedConstraints),
    audit_gaps: levelOf(auditIssues, thresholds.auditGaps),
    inconsistencies: levelOf(counts.audited_users_still_present, thresholds.inconsistencies),
  };
  const totalIssues =
    manualIssues + counts.cascade_leftovers + counts.dangling_foreign_keys + auditIssues + counts.audited_users_still_present + counts.orphaned_storage_objects;

  return {
    data_integrity_validation: {
      validation_timestamp: now.toISOString(),
      total_issues_found: totalIssues,
      validation_status: totalIssues === 0 ? 'PASSED' : 'FAILED',
      severity_level: worst(Object.values(severity_by_category)),
      duration_ms: Math.round(performance.now() - t0),
    },
    summary: {
      foreign_key_constraints: issues(counts.dangling_foreign_keys),
      cascade_deletions: issues(counts.cascade_leftovers),
      manual_cleanup: issues(manualIssues),
      audit_trail: issues(auditIssues),
      data_consistency: issues(counts.audited_users_still_present),
      storage_objects: issues(counts.orphaned_storage_objects),
    },
    counts,
    severity_by_category,
    checks: {
      manual_cleanup: manual,
      cascade_deletions: cascade,
      foreign_key_constraints: fks,
      audit_trail: {
        deletions_recorded: Number(audit.deletions_recorded),
        audited_deletions: Number(audit.audited_deletions),
        missing_success_audit: { count: Number(audit.gap_count), user_ids: audit.gap_user_ids ?? [] },
        incomplete_audit_rows: { count: Number(audit.incomplete_count), audit_ids: audit.incomplete_audit_ids ?? [] },
      },
      data_consistency: { audited_but_present: { count: Number(audit.inconsistent_count), user_ids: audit.inconsistent_user_ids ?? [] } },
      storage_objects: storageCheck,
    },
    thresholds,
  };
}
