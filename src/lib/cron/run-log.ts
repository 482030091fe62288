import pino from 'pino';
import type { Db } from '../db/types';
import type { Logger } from '../logger';

/** How much of a run's log is kept with the run. */
export interface RunLogLimits {
  /** Lines kept: the first half and the last half of this many; the lines between are counted. */
  maxLines: number;
  /** Bytes of JSON kept in all (half for the first lines, half for the last). */
  maxBytes: number;
  /** A longer line is kept shortened: its level, time, type and the start of its message. */
  maxLineBytes: number;
}

export const RUN_LOG_LIMITS: RunLogLimits = { maxLines: 200, maxBytes: 64 * 1024, maxLineBytes: 4 * 1024 };

/** One captured line as stored (cronwarden.cron_job_run_logs): the logger's JSON line, parsed. */
export interface RunLogLine {
  /** When it was written, ISO 8601 UTC. */
  at: string;
  /** pino's level label: trace, debug, info, warn, error, fatal. */
  level: string;
  line: Record<string, unknown>;
}

export interface RunLogCapture {
  /** The run's logger: writes where the parent writes, and keeps a copy of each line. */
  log: Logger;
  /** The kept lines in order; a `cron_run_log_truncated` line stands where lines were left out. */
  lines(): RunLogLine[];
  /** Lines left out because of the limits. */
  dropped(): number;
  /** Stops keeping copies (lines written later, by pings after the run, still reach the parent's stream). */
  stop(): void;
}

const { streamSym, needsMetadataGsym } = pino.symbols;
const METADATA = ['lastLevel', 'lastObj', 'lastMsg', 'lastTime', 'lastLogger'] as const;
const MESSAGE_KEEP_CHARS = 500;

interface Stream {
  write(s: string): unknown;
  flush?: (cb?: (err?: Error) => void) => void;
  [needsMetadataGsym]?: boolean;
  [key: string]: unknown;
}

function levelLabel(logger: Logger, level: unknown): string {
  if (typeof level === 'string') return level;
  if (typeof level === 'number') return logger.levels.labels[level] ?? String(level);
  return 'info';
}

function timeOf(line: Record<string, unknown>): string {
  const t = line.time;
  const d = typeof t === 'number' || typeof t === 'string' ? new Date(t) : new Date();
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

/** Stack traces stay in the process log, not on the console: an error keeps its type, message and code. */
function withoutStacks(line: Record<string, unknown>): Record<string, unknown> {
  let out = line;
  for (const [key, value] of Object.entries(line)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && 'stack' in value) {
      const { stack: _stack, ...rest } = value as Record<string, unknown>;
      out = out === line ? { ...line } : out;
      out[key] = rest;
    }
  }
  return out;
}

/**
 * A copy of every line `parent` writes from here on, for storing with the run (the run page shows
 * it). The copy is the logger's own output, so secrets are already redacted (by field name and by
 * value, src/lib/logger.ts). Bounded: the first and last `maxLines / 2` lines within `maxBytes`,
 * each line at most `maxLineBytes` (longer ones are shortened), and a marker counting what was
 * left out between them.
 *
 * The run's child logger gets its own stream that forwards each line to the parent's stream
 * unchanged: every other logger is untouched, and so is what reaches the process log.
 */
export function captureRunLog(parent: Logger, limits: RunLogLimits = RUN_LOG_LIMITS): RunLogCapture {
  const child = parent.child({});
  const target = (parent as unknown as Record<symbol, Stream>)[streamSym];
  const headLines = Math.max(1, Math.floor(limits.maxLines / 2));
  const tailLines = Math.max(1, limits.maxLines - headLines);
  const headBytes = Math.floor(limits.maxBytes / 2);
  const tailBytes = limits.maxBytes - headBytes;

  const head: { entry: RunLogLine; bytes: number }[] = [];
  const tail: { entry: RunLogLine; bytes: number }[] = [];
  let headUsed = 0;
  let tailUsed = 0;
  let headOpen = true;
  let dropped = 0;
  let droppedBytes = 0;
  let firstDroppedAt: string | null = null;
  let capturing = true;

  const keep = (s: string) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(s) as Record<string, unknown>;
    } catch {
      line = { msg: s.trim().slice(0, MESSAGE_KEEP_CHARS) };
    }
    line = withoutStacks(line);
    let text = JSON.stringify(line);
    let bytes = Buffer.byteLength(text);
    if (bytes > limits.maxLineBytes) {
      const msg = typeof line.msg === 'string' ? line.msg.slice(0, MESSAGE_KEEP_CHARS) : undefined;
      line = { level: line.level, time: line.time, type: line.type, msg, job: line.job, run_id: line.run_id, shortened_from_bytes: bytes };
      text = JSON.stringify(line);
      bytes = Buffer.byteLength(text);
    }
    const entry: RunLogLine = { at: timeOf(line), level: levelLabel(parent, line.level), line };
    if (headOpen && head.length < headLines && headUsed + bytes <= headBytes) {
      head.push({ entry, bytes });
      headUsed += bytes;
      return;
    }
    headOpen = false; // later lines go to the tail, so the order is kept
    tail.push({ entry, bytes });
    tailUsed += bytes;
    while (tail.length > 0 && (tail.length > tailLines || tailUsed > tailBytes)) {
      const gone = tail.shift()!;
      tailUsed -= gone.bytes;
      dropped++;
      droppedBytes += gone.bytes;
      firstDroppedAt ??= gone.entry.at;
    }
  };

  const stream: Stream = {
    write(s: string) {
      if (target[needsMetadataGsym] === true) for (const k of METADATA) target[k] = stream[k];
      const out = target.write(s);
      if (capturing) keep(s);
      return out;
    },
    flush(cb?: (err?: Error) => void) {
      if (typeof target.flush === 'function') target.flush(cb);
      else cb?.();
    },
  };
  if (target[needsMetadataGsym] === true) stream[needsMetadataGsym] = true;
  (child as unknown as Record<symbol, Stream>)[streamSym] = stream;

  return {
    log: child,
    lines() {
      const out = head.map((h) => h.entry);
      if (dropped > 0) {
        out.push({
          at: firstDroppedAt ?? new Date().toISOString(),
          level: 'warn',
          line: {
            level: 'warn',
            type: 'cron_run_log_truncated',
            dropped_lines: dropped,
            dropped_bytes: droppedBytes,
            msg: `${dropped} line(s) left out here: a run keeps its first ${headLines} and last ${tailLines} lines, at most ${Math.round(limits.maxBytes / 1024)} KB`,
          },
        });
      }
      for (const t of tail) out.push(t.entry);
      return out;
    },
    dropped: () => dropped,
    stop() {
      capturing = false;
    },
  };
}

/**
 * Stores the captured lines with their run (cron_record_run_logs) and stops the capture. A
 * failure is logged on `log` and never fails the run: the run's record matters more than its log.
 */
export async function recordRunLog(db: Db, runId: string, capture: RunLogCapture, log: Logger): Promise<void> {
  capture.stop();
  const lines = capture.lines();
  if (lines.length === 0) return;
  try {
    await db.rpc('cron_record_run_logs', { p_run_id: runId, p_lines: lines });
  } catch (err) {
    log.warn({ type: 'cron_run_log_failed', run_id: runId, err: err instanceof Error ? err.message : String(err) }, 'could not store the run\'s log lines');
  }
}
