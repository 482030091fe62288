import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable } from '../db/availability';
import type { Db } from '../db/types';
import { AppError } from '../http/errors';
import type { Logger } from '../logger';
import { scrubSecrets } from '../logger';
import { removeUnreferencedObjects } from '../storage/guarded-remove';
import type { Storage } from '../storage/types';

/** The audit action every user deletion attempt is recorded under (the seed's queries use it). */
export const USER_DELETION_ACTION = 'USER_DELETION';

/** Deadline for the database part of one deletion; the route's maxDuration is 60 s. */
export const DEFAULT_DELETION_TIMEOUT_MS = 25_000;

/** How long a claim lives if its process dies before finishing (a live attempt releases it). */
export const DEFAULT_CLAIM_TTL_SECONDS = 300;

export type DeletionErrorType = 'not_found' | 'timeout' | 'conflict' | 'db_error';

export interface DeleteUserDeps {
  db: Db;
  storage: Storage;
  log: Logger;
  now: () => Date;
  /** config.exports.archivePrefix: an object under it is never removed, whatever row named it. */
  archivePrefix: string;
  /** Secret values to keep out of audit rows and logs. */
  secrets?: readonly string[];
}

export interface DeleteUserOptions {
  /** Who asked: recorded in every audit row. */
  actor: string;
  statementTimeoutMs?: number;
  claimTtlSeconds?: number;
}

/** What happened to the stored objects of the deleted rows. */
export interface DeletionStorageOutcome {
  /** Paths the deleted rows held (recorded in storage_cleanup_queue with the deletion). */
  objects: number;
  /** Confirmed gone. */
  removed: number;
  /** Left in place on purpose: a live row of a bound table still references it, or it lies under the archive prefix. */
  kept: number;
  /** Removal failed now, or the path is not a valid object path. */
  failed: number;
  /** Still in storage_cleanup_queue for the storage-cleanup-retry job. */
  queued: number;
}

export interface DeleteUserResult {
  /** The id as the users table has it (canonical text: a uuid in lower case, a bigint without leading zeros). */
  user_id: string;
  user_type: string | null;
  /**
   * Rows per table (its name without schema and without a `user_` prefix), every table the
   * deletion reached: `{ dispatches: 2, addresses: 1, file_uploads: 3, sessions: 1, preferences: 1, export_logs: 0 }`
   * on the demo app. Tables the database cascades or sets null are counted too.
   */
  deleted: Record<string, number>;
  storage: DeletionStorageOutcome;
  audit_id: string;
  duration_ms: number;
  timestamp: string;
}

interface CascadeRow {
  user_id: string;
  user_type: string | null;
  deleted: Record<string, number> | string;
  storage_objects: number;
  storage_reference_id: string;
  audit_id: string;
  db_duration_ms: number;
}

interface BeginRow {
  id_valid: boolean;
  id_type: string;
  user_id: string | null;
  acquired: boolean;
  user_exists: boolean;
  user_type: string | null;
  holder_attempt_id: string | null;
  holder_started_at: string | Date | null;
}

interface QueueEntry {
  id: number | string;
  storage_path: string;
}

/** Paths the deletion removes per storage_cleanup_page call (PostgREST's max-rows). */
const STORAGE_PAGE = 1000;

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

/** A user id as a request may carry it: 1-255 characters, no control characters. Its type is the users table's. */
function plausibleId(raw: unknown): raw is string {
  // eslint-disable-next-line no-control-regex
  return typeof raw === 'string' && raw.length >= 1 && raw.length <= 255 && !/[\u0000-\u001f\u007f]/.test(raw);
}

/**
 * Deletes one user: checks the id against the type of the users table's id (400), claims the
 * user (409 while another attempt for the same user runs), then one SQL transaction deletes the
 * user and every row of theirs in the bound tables (found from the foreign keys at call time,
 * plus the declared children), records the success audit row and queues the stored objects of
 * the deleted rows (the outbox); after the commit the objects are removed page by page, and each
 * leaves the queue once it is confirmed gone. An object a live row of a bound table still
 * references, or one under the archive prefix, is kept. What cannot be removed now stays queued
 * for the storage-cleanup-retry job, and so does everything if the process dies: nothing is lost.
 * Every attempt with a well-formed id leaves an audit row with its duration.
 * Throws AppError (400, 404, 409, 500, 504) for the caller to answer, and DatabaseUnavailableError
 * (503) as it comes when the database cannot be reached.
 */
export async function deleteUser(deps: DeleteUserDeps, rawUserId: string, options: DeleteUserOptions): Promise<DeleteUserResult> {
  const { db, log } = deps;
  if (!plausibleId(rawUserId)) {
    throw new AppError(400, 'INVALID_USER_ID', 'The user id must be 1 to 255 characters without control characters.');
  }
  let userId = rawUserId;
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
    // An unreachable database is the route's 503, logged once by the app when it went away: no
    // audit row can be written and a line per request would only repeat that one.
    if (isDatabaseUnavailable(err)) throw err;
    throw errorForClass(type, err, userId, await recordFailure(type, err));
  };

  let begin: BeginRow | undefined;
  try {
    [begin] = await db.rpc<BeginRow>('user_deletion_begin', {
      p_user_id: rawUserId,
      p_attempt_id: attemptId,
      p_actor: options.actor,
      p_ttl_seconds: options.claimTtlSeconds ?? DEFAULT_CLAIM_TTL_SECONDS,
      p_now: startedAt,
    });
  } catch (err) {
    return fail(classifyDeletionError(err), err);
  }
  if (begin && !begin.id_valid) {
    // Not an attempt on any user: no audit row, as for any other malformed request.
    throw new AppError(400, 'INVALID_USER_ID', `The user id must be a value of the users table's id type (${begin.id_type}).`, {
      id_type: begin.id_type,
    });
  }
  if (begin?.user_id) userId = begin.user_id;
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

  // Committed: the rows are gone and their objects are in the queue. Now the objects.
  const storage = await removeQueuedObjects(deps, row.storage_reference_id, Number(row.storage_objects), userId);
  const durationMs = elapsed();
  try {
    await db.rpc('user_deletion_audit_complete', {
      p_audit_id: row.audit_id,
      p_duration_ms: durationMs,
      p_details: { storage },
    });
  } catch (err) {
    log.error({ type: 'user_deletion_audit_failed', user_id: userId, audit_id: row.audit_id, err }, 'could not complete the audit row');
  }

  const deleted = typeof row.deleted === 'string' ? (JSON.parse(row.deleted) as Record<string, number>) : row.deleted;
  const result: DeleteUserResult = {
    user_id: row.user_id,
    user_type: row.user_type,
    deleted: Object.fromEntries(Object.entries(deleted ?? {}).map(([k, v]) => [k, Number(v)])),
    storage,
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
      db_duration_ms: Number(row.db_duration_ms),
      duration_ms: durationMs,
    },
    'user deleted',
  );
  return result;
}

/**
 * Removes the objects the deletion queued (storage_cleanup_queue, reference_id = the attempt),
 * a page of at most 1000 at a time: each entry leaves the queue once its object is confirmed
 * gone, or kept on purpose (still referenced by a live row, under the archive prefix, or an
 * invalid path that no retry could remove: logged). A failed removal stays queued, due at once
 * for the storage-cleanup-retry job. A database error stops here: what is left stays queued.
 */
async function removeQueuedObjects(deps: DeleteUserDeps, reference: string, objects: number, userId: string): Promise<DeletionStorageOutcome> {
  const out: DeletionStorageOutcome = { objects, removed: 0, kept: 0, failed: 0, queued: 0 };
  if (objects === 0) return out;
  let afterId = 0;
  let settled = 0;
  try {
    for (;;) {
      const page = await deps.db.rpc<QueueEntry>('storage_cleanup_page', { p_reference_id: reference, p_after_id: afterId, p_limit: STORAGE_PAGE });
      if (page.length === 0) break;
      afterId = Math.max(...page.map((e) => Number(e.id)));
      const idOf = new Map(page.map((e) => [e.storage_path, Number(e.id)]));
      const res = await removeUnreferencedObjects(deps.db, deps.storage, [...idOf.keys()], { archivePrefix: deps.archivePrefix });
      const invalid = res.kept.filter((k) => k.reason === 'invalid').map((k) => k.path);
      const kept = res.kept.filter((k) => k.reason !== 'invalid');
      if (invalid.length) {
        deps.log.error({ type: 'user_deletion_invalid_storage_path', user_id: userId, paths: invalid.slice(0, 50) }, 'stored paths the storage port refuses');
      }
      if (kept.length) {
        deps.log.info(
          { type: 'user_deletion_storage_kept', user_id: userId, kept: kept.slice(0, 50) },
          'stored files kept: another row still references them, or they are archives',
        );
      }
      const done = [...res.removed, ...res.kept.map((k) => k.path)].map((p) => idOf.get(p)).filter((id): id is number => id !== undefined);
      const failed = res.failed.filter((f) => idOf.has(f.path));
      await deps.db.rpc('storage_cleanup_resolve', {
        p_done_ids: done,
        p_failed_ids: failed.map((f) => idOf.get(f.path)),
        p_failed_errors: failed.map((f) => f.error.slice(0, 1000)),
        p_now: deps.now(),
        p_count_attempt: false,
      });
      out.removed += res.removed.length;
      out.kept += kept.length;
      out.failed += res.failed.length + invalid.length;
      out.queued += res.failed.length;
      settled += page.length;
      if (res.failed.length) {
        deps.log.warn(
          { type: 'user_deletion_storage_queued', user_id: userId, queued: res.failed.length, failed: res.failed.slice(0, 20) },
          'stored files could not be removed; queued for retry',
        );
      }
    }
  } catch (err) {
    // The entries not settled stay in the queue; the retry job takes them once the claim expires.
    out.queued += Math.max(0, objects - settled);
    deps.log.error(
      { type: 'user_deletion_storage_deferred', user_id: userId, storage_reference_id: reference, queued: out.queued, err },
      'stored files left queued for the storage-cleanup-retry job',
    );
  }
  return out;
}
