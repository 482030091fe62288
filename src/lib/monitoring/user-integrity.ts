import type { Db } from '../db/types';
import type { Storage } from '../storage/types';

/**
 * Data integrity around user deletion (the seed's data-integrity validator), over the tables the
 * deletion reaches (cronwarden.user_integrity_targets: the foreign-key children of the users
 * table found in the catalog now, and the declared children):
 *  - manual_cleanup: rows of the tables the deletion cleans by hand (no cascade, declared
 *    children) whose user no longer exists
 *  - cascade_deletions: rows of the tables the database cascades or sets null whose user is gone
 *    (the cascade did not run: triggers disabled, a restore in replica mode)
 *  - foreign_key_constraints: foreign keys to users (validated or not) with dangling rows
 *  - audit_trail: deleted users without a success audit row (only when a trigger records
 *    deletions in cronwarden.deleted_users; otherwise `tracked: false` and the statement that
 *    installs it), success rows without duration or counts
 *  - data_consistency: success audit rows whose user still exists
 *  - storage_objects: objects under the uploads prefix that no live row of a bound table references
 * Tables are scanned in keyset batches (one short query each); nothing is changed. Tables are
 * keyed by their name without schema and `user_` prefix (as in a deletion's `deleted`).
 */

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
  /** schema.table */
  table_name: string;
  column_name: string;
  constraint_name: string;
  on_delete: string;
  validated: boolean;
  enforced: boolean;
  dangling_rows: number;
}

/** One scanned table: what happens to its rows on deletion, and what the scan found. */
export interface TableScan extends TableScanCounts {
  table_name: string;
  user_column: string;
  on_delete: string;
}

interface TableScanCounts {
  scanned: number;
  orphans: number;
  samples: OrphanSample[];
  batches: number;
}

export type AuditTrailCheck = {
  /** A trigger records every deletion of the users table in cronwarden.deleted_users. */
  tracked: boolean;
  deletions_recorded: number;
  audited_deletions: number;
  missing_success_audit: { count: number; user_ids: string[] };
  incomplete_audit_rows: { count: number; audit_ids: string[] };
  /** When not tracked: deletions made outside the endpoint cannot be seen; install this trigger. */
  note?: string;
  trigger_statement?: string;
};

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
    /** Rows left behind in the tables cleaned by hand. */
    orphaned_rows: number;
    cascade_leftovers: number;
    dangling_foreign_keys: number;
    deletions_without_success_audit: number;
    incomplete_audit_rows: number;
    audited_users_still_present: number;
    orphaned_storage_objects: number;
  };
  severity_by_category: Record<'orphaned_records' | 'failed_constraints' | 'audit_gaps' | 'inconsistencies', Severity>;
  checks: {
    manual_cleanup: Record<string, TableScan>;
    cascade_deletions: Record<string, TableScan>;
    foreign_key_constraints: ForeignKeyCheck[];
    audit_trail: AuditTrailCheck;
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

interface Target {
  table_name: string;
  table_key: string;
  user_column: string;
  on_delete: string;
  by_hand: boolean;
  estimated_rows: number | string;
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
  target: Target,
  batchSize: number,
  sampleLimit: number,
  progress: (rows: number) => void,
): Promise<TableScanCounts> {
  const out: TableScanCounts = { scanned: 0, orphans: 0, samples: [], batches: 0 };
  let after: string | null = null;
  for (;;) {
    const [r]: { scanned: number; orphan_count: number; samples: OrphanSample[] | string; last_key: string | null; has_more: boolean }[] =
      await db.rpc('user_integrity_orphans_batch', {
        p_table: target.table_name,
        p_column: target.user_column,
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

/** A scan's key: the table's key, or `key.column` when one table holds users in two columns. */
function scanKeys(targets: Target[]): string[] {
  const seen = new Map<string, number>();
  for (const t of targets) seen.set(t.table_key, (seen.get(t.table_key) ?? 0) + 1);
  return targets.map((t) => ((seen.get(t.table_key) ?? 0) > 1 ? `${t.table_key}.${t.user_column}` : t.table_key));
}

export async function validateUserIntegrity(options: IntegrityOptions): Promise<IntegrityReport> {
  const { db } = options;
  const t0 = performance.now();
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 5000;
  const sampleLimit = options.sampleLimit ?? 20;
  const thresholds = options.thresholds ?? DEFAULT_INTEGRITY_THRESHOLDS;
  const prefix = options.uploadsPrefix ?? 'uploads/';

  const targets = await db.rpc<Target>('user_integrity_targets');
  let total = targets.reduce((n, e) => n + Number(e.estimated_rows), 0);
  let done = 0;
  const progress = (step: string) => (rows: number) => {
    done += rows;
    total = Math.max(total, done);
    options.onProgress?.({ step, done, total });
  };

  const manual: IntegrityReport['checks']['manual_cleanup'] = {};
  const cascade: IntegrityReport['checks']['cascade_deletions'] = {};
  const keys = scanKeys(targets);
  for (const [i, target] of targets.entries()) {
    const scan = await scanTable(db, target, batchSize, sampleLimit, progress(keys[i]));
    (target.by_hand ? manual : cascade)[keys[i]] = {
      table_name: target.table_name,
      user_column: target.user_column,
      on_delete: target.on_delete,
      ...scan,
    };
  }

  const fks = (await db.rpc<ForeignKeyCheck>('user_integrity_foreign_keys')).map((f) => ({ ...f, dangling_rows: Number(f.dangling_rows) }));
  options.onProgress?.({ step: 'foreign_keys', done, total });

  const [audit] = await db.rpc<{
    deletions_tracked: boolean;
    deletions_recorded: number;
    audited_deletions: number;
    gap_count: number;
    gap_user_ids: string[];
    incomplete_count: number;
    incomplete_audit_ids: string[];
    inconsistent_count: number;
    inconsistent_user_ids: string[];
  }>('user_integrity_audit', { p_sample_limit: sampleLimit });
  const auditTrail: AuditTrailCheck = {
    tracked: audit.deletions_tracked,
    deletions_recorded: Number(audit.deletions_recorded),
    audited_deletions: Number(audit.audited_deletions),
    missing_success_audit: { count: Number(audit.gap_count), user_ids: audit.gap_user_ids ?? [] },
    incomplete_audit_rows: { count: Number(audit.incomplete_count), audit_ids: audit.incomplete_audit_ids ?? [] },
  };
  if (!audit.deletions_tracked) {
    const [tracking] = await db.rpc<{ trigger_statement: string }>('user_deletion_tracking');
    auditTrail.note =
      'No trigger records deletions of the users table in cronwarden.deleted_users, so users deleted outside DELETE /api/users/[userId] ' +
      'cannot be found; install the trigger (trigger_statement) to check for them.';
    auditTrail.trigger_statement = tracking?.trigger_statement;
  }
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

  const sumOrphans = (scans: Record<string, TableScan>) => Object.values(scans).reduce((n, t) => n + t.orphans, 0);
  const counts: IntegrityReport['counts'] = {
    orphaned_rows: sumOrphans(manual),
    cascade_leftovers: sumOrphans(cascade),
    dangling_foreign_keys: fks.filter((f) => f.dangling_rows > 0).length,
    deletions_without_success_audit: auditTrail.missing_success_audit.count,
    incomplete_audit_rows: auditTrail.incomplete_audit_rows.count,
    audited_users_still_present: Number(audit.inconsistent_count),
    orphaned_storage_objects: 'orphaned' in storageCheck ? storageCheck.orphaned.count : 0,
  };
  const auditIssues = counts.deletions_without_success_audit + counts.incomplete_audit_rows;
  const severity_by_category = {
    orphaned_records: levelOf(counts.orphaned_rows + counts.cascade_leftovers + counts.orphaned_storage_objects, thresholds.orphanedRecords),
    failed_constraints: levelOf(counts.dangling_foreign_keys, thresholds.failedConstraints),
    audit_gaps: levelOf(auditIssues, thresholds.auditGaps),
    inconsistencies: levelOf(counts.audited_users_still_present, thresholds.inconsistencies),
  };
  const totalIssues =
    counts.orphaned_rows + counts.cascade_leftovers + counts.dangling_foreign_keys + auditIssues + counts.audited_users_still_present + counts.orphaned_storage_objects;

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
      manual_cleanup: issues(counts.orphaned_rows),
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
      audit_trail: auditTrail,
      data_consistency: { audited_but_present: { count: Number(audit.inconsistent_count), user_ids: audit.inconsistent_user_ids ?? [] } },
      storage_objects: storageCheck,
    },
    thresholds,
  };
}
