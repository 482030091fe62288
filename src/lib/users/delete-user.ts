import { randomUUID } from 'node:crypto';
import type { Db } from '../db/types';
import { AppError } from '../http/errors';
import type { Logger } from '../logger';
import { scrubSecrets } from '../logger';
import { assertObjectPath, type RemoveFailure, type Storage } from '../storage/types';

/** The audit action every user deletion attempt is recorded under (the seed's queries use it). */
export const USER_DELETION_ACTION = 'USER_DELETION';

/** Deadline for the database part of one deletion; the route's maxDuration is 60 s. */
export const DEFAULT_DELETION_TIMEOUT_MS = 25_000;

/** How long a claim lives if its process dies before finishing (a live attempt releases it). */
export const DEFAULT_CLAIM_TTL_SECONDS = 300;

export type DeletionErrorType = 'not_found' | 'timeout' | 'conflict' | 'db_error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DeleteUserDeps {
  db: Db;
  storage: Storage;
  log: Logger;
  now: () => Date;
  /** Secret values to keep out of audit rows and logs. */
  secrets?: readonly string[];
}

export interface DeleteUserOptions {
  /** Who asked: recorded in every audit row. */
  actor: string;
  statementTimeoutMs?: number;
  claimTtlSeconds?: number;
}

export interface DeleteUserResult {
  user_id: string;
  user_type: string;
  deleted: {
    dispatches: number;
    addresses: number;
    file_uploads: number;
    sessions: number;
    preferences: number;
  };
  storage: {
    objects: number;
    removed: number;
    failed: number;
    /** Failed removals recorded in storage_cleanup_queue for the storage-cleanup-retry job. */
    queued: number;
  };
  audit_id: string;
  duration_ms: number;
  timestamp: string;
}

interface CascadeRow {
  user_id: string;
  user_type: string;
  dispatches_deleted: number;
  addresses_deleted: number;
  file_uploads_deleted: number;
  sessions_deleted: number;
  preferences_deleted: number;
  storage_paths: string[] | null;
  audit_id: string;
  db_duration_ms: number;
}

interface BeginRow {
  acquired: boolean;
  user_exists: boolean;
  user_type: string | null;
  holder_attempt_id: string | null;
  holder_started_at: string | Date | null;
}

/** SQLSTATE of a driver error: `code` on PGlite, postgres.js and the Supabase adapter. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Failure classes of a deletion: not_found (P0002), timeout (57014: our deadline or a server
 * statement_timeout), conflict (lock not available, serialization failure, deadlock, or the
 * user still referenced by a row the function does not clean up), db_error (anything else).
 */
export function classifyDeletionError(err: unknown): DeletionErrorType {
  switch (sqlStateOf(err)) {
    case 'P0002':
      return 'not_found';
    case '57014':
      return 'timeout';
    case '55P03':
    case '40001':
    case '40P01':
    case '23503':
      return 'conflict';
    default:
      return 'db_error';
  }
}

function errorForClass(type: DeletionErrorType, err: unknown, userId: string, auditId?: string): AppError {
  const details = auditId ? { audit_id: auditId } : {};
  switch (type) {
    case 'not_found':
      return new AppError(404, 'USER_NOT_FOUND', `No user with id ${userId}.`, details);
    case 'timeout':
      return new AppError(
        504,
        'STATEMENT_TIMEOUT',
        'The deletion ran past its database time limit and was rolled back; nothing was deleted. Retry later.',
        { ...details, retryable: true },
      );
    case 'conflict':
      return sqlStateOf(err) === '23503'
        ? new AppError(409, 'USER_STILL_REFERENCED', 'The user is still referenced by rows the deletion does not remove; nothing was deleted.', {
            ...details,
            constraint: (err as { constraint_name?: string; constraint?: string }).constraint_name ?? (err as { constraint?: string }).constraint,
          })
        : new AppError(409, 'DELETION_CONFLICT', 'Another transaction is changing this user; nothing was deleted. Retry later.', {
            ...details,
            retryable: true,
          });
    case 'db_error':
      return new AppError(500, 'DELETION_FAILED', 'The deletion failed and was rolled back; nothing was deleted.', details);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Deletes one user: claim (409 when another attempt for the same user is running), the
 * one-transaction SQL function, then the user's stored files, after commit. A file that cannot be
 * removed is queued for the storage-cleanup-retry job. Every attempt with a well-formed id leaves
 * an audit row with its duration; the success row is written inside the deletion's transaction.
 * Throws AppError (400, 404, 409, 500, 504) for the caller to answer.
 */
export async function deleteUser(deps: DeleteUserDeps, rawUserId: string, options: DeleteUserOptions): Promise<DeleteUserResult> {
  const { db, storage, log } = deps;
  if (typeof rawUserId !== 'string' || !UUID.test(rawUserId)) {
    throw new AppError(400, 'INVALID_USER_ID', 'The user id must be a UUID.');
  }
  const userId = rawUserId.toLowerCase();
  const attemptId = randomUUID();
  const startedAt = deps.now();
  const t0 = performance.now();
  const elapsed = () => Math.max(0, Math.round(performance.now() - t0));
  const secrets = deps.secrets ?? [];

  /** The failure's audit row (outside the rolled-back transaction) and log line; releases the claim. */
  const recordFailure = async (type: DeletionErrorType, err: unknown, extra: Record<string, unknown> = {}): Promise<string | undefined> => {
    const message = scrubSecrets(errorText(err), secrets).slice(0, 2000);
    const durationMs = elapsed();
    let auditId: string | undefined;
    try {
      const [row] = await db.rpc<{ audit_id: string }>('record_user_deletion_audit', {
        p_target_id: userId,
        p_actor: options.actor,
        p_status: 'failure',
        p_error_type: type,
        p_error_message: message,
        p_duration_ms: durationMs,
        p_details: { sqlstate: sqlStateOf(err) ?? null, ...extra },
        p_attempt_id: attemptId,
        p_now: startedAt,
      });
      auditId = row?.audit_id;
    } catch (auditErr) {
      log.error({ type: 'user_deletion_audit_failed', user_id: userId, attempt_id: attemptId, err: auditErr }, 'could not record the failed deletion');
    }
    log.warn(
      { type: 'user_deletion_failed', user_id: userId, attempt_id: attemptId, error_type: type, sqlstate: sqlStateOf(err), duration_ms: durationMs, error: message },
      'user deletion failed',
    );
    return auditId;
  };
  const fail = async (type: DeletionErrorType, err: unknown): Promise<never> => {
    throw errorForClass(type, err, userId, await recordFailure(type, err));
  };

  let begin: BeginRow | undefined;
  try {
    [begin] = await db.rpc<BeginRow>('user_deletion_begin', {
      p_user_id: userId,
      p_attempt_id: attemptId,
      p_actor: options.actor,
      p_ttl_seconds: options.claimTtlSeconds ?? DEFAULT_CLAIM_TTL_SECONDS,
      p_now: startedAt,
    });
  } catch (err) {
    return fail(classifyDeletionError(err), err);
  }
  if (!begin?.acquired) {
    if (!begin?.holder_attempt_id) return fail('not_found', new Error(`user ${userId} not found`));
    const holderStarted = begin.holder_started_at instanceof Date ? begin.holder_started_at.toISOString() : begin.holder_started_at;
    const auditId = await recordFailure(
      'conflict',
      new Error(`a deletion of this user is already running (attempt ${begin.holder_attempt_id}, started ${holderStarted})`),
      { holder_attempt_id: begin.holder_attempt_id },
    );
    throw new AppError(409, 'DELETION_IN_PROGRESS', 'A deletion of this user is already running; try again when it has finished.', {
      holder_attempt_id: begin.holder_attempt_id,
      holder_started_at: holderStarted,
      ...(auditId ? { audit_id: auditId } : {}),
    });
  }

  let row: CascadeRow | undefined;
  try {
    [row] = await db.rpc<CascadeRow>('delete_user_cascade', {
      p_user_id: userId,
      p_actor: options.actor,
      p_statement_timeout_ms: options.statementTimeoutMs ?? DEFAULT_DELETION_TIMEOUT_MS,
      p_attempt_id: attemptId,
      p_elapsed_ms: elapsed(),
      p_now: startedAt,
    });
  } catch (err) {
    return fail(classifyDeletionError(err), err);
  }
  if (!row) return fail('db_error', new Error('delete_user_cascade returned no row'));

  // Committed: the rows are gone. Now the objects they owned.
  const paths = row.storage_paths ?? [];
  const storageOutcome = await removeObjects(deps, paths, userId);
  const durationMs = elapsed();
  try {
    await db.rpc('user_deletion_audit_complete', {
      p_audit_id: row.audit_id,
      p_duration_ms: durationMs,
      p_details: {
        storage: { objects: paths.length, removed: storageOutcome.removed, failed: storageOutcome.failed.length, queued: storageOutcome.queued },
      },
    });
  } catch (err) {
    log.error({ type: 'user_deletion_audit_failed', user_id: userId, audit_id: row.audit_id, err }, 'could not complete the audit row');
  }

  const result: DeleteUserResult = {
    user_id: row.user_id,
    user_type: row.user_type,
    deleted: {
      dispatches: row.dispatches_deleted,
      addresses: row.addresses_deleted,
      file_uploads: row.file_uploads_deleted,
      sessions: row.sessions_deleted,
      preferences: row.preferences_deleted,
    },
    storage: { objects: paths.length, removed: storageOutcome.removed, failed: storageOutcome.failed.length, queued: storageOutcome.queued },
    audit_id: row.audit_id,
    duration_ms: durationMs,
    timestamp: new Date(startedAt.getTime() + durationMs).toISOString(),
  };
  log.info(
    {
      type: 'user_deletion',
      user_id: result.user_id,
      user_type: result.user_type,
      attempt_id: attemptId,
      audit_id: result.audit_id,
      deleted: result.deleted,
      storage: result.storage,
      db_duration_ms: row.db_duration_ms,
      duration_ms: durationMs,
    },
    'user deleted',
  );
  return result;
}

/**
 * Removes the deleted uploads' objects. What cannot be removed now is queued (not lost); a path
 * the storage port refuses as invalid is logged, since no retry could ever remove it.
 */
async function removeObjects(
  deps: DeleteUserDeps,
  paths: string[],
  userId: string,
): Promise<{ removed: number; failed: RemoveFailure[]; queued: number }> {
  if (paths.length === 0) return { removed: 0, failed: [], queued: 0 };
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const p of paths) {
    try {
      valid.push(assertObjectPath(p));
    } catch {
      invalid.push(p);
    }
  }
  if (invalid.length) {
    deps.log.error({ type: 'user_deletion_invalid_storage_path', user_id: userId, paths: invalid.slice(0, 50) }, 'stored paths the storage port refuses');
  }
  let removed: string[] = [];
  let failed: RemoveFailure[] = [];
  try {
    ({ removed, failed } = await deps.storage.remove(valid));
  } catch (err) {
    failed = valid.map((p) => ({ path: p, error: errorText(err) }));
  }
  let queued = 0;
  if (failed.length) {
    try {
      const [row] = await deps.db.rpc<{ queued: number }>('storage_cleanup_enqueue', {
        p_paths: failed.map((f) => f.path),
        p_errors: failed.map((f) => f.error.slice(0, 1000)),
        p_source: 'user_deletion',
        p_reference_id: userId,
        p_now: deps.now(),
      });
      queued = row?.queued ?? 0;
      deps.log.warn(
        { type: 'user_deletion_storage_queued', user_id: userId, queued, failed: failed.slice(0, 20) },
        'stored files could not be removed; queued for retry',
      );
    } catch (err) {
      // Last resort: the paths are in the log line so an operator can remove them.
      deps.log.error(
        { type: 'storage_cleanup_enqueue_failed', user_id: userId, paths: failed.map((f) => f.path), err },
        'stored files could not be removed nor queued',
      );
    }
  }
  return { removed: removed.length, failed: [...failed, ...invalid.map((p) => ({ path: p, error: 'invalid object path' }))], queued };
}
