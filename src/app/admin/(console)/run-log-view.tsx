import type { RunLogLine } from '@/lib/cron/run-log';
import styles from '../admin.module.css';

/** Fields every line carries (shown in their own columns, or the same for every line of a run). */
const COMMON = new Set(['level', 'time', 'msg', 'type', 'service', 'job', 'run_id']);

function extraText(line: Record<string, unknown>): string {
  return Object.entries(line)
    .filter(([k]) => !COMMON.has(k))
    .map(([k, v]) => `${k}=${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('  ');
}

/** A run's own log lines as captured with it (already redacted by the logger). */
export function RunLogView({ lines, emptyText }: { lines: RunLogLine[]; emptyText: string }) {
  if (lines.length === 0) return <div className={styles.empty}>{emptyText}</div>;
  return (
    <ol className={styles.logLines} data-testid="run-log">
      {lines.map((l, i) => {
        const extra = extraText(l.line);
        return (
          <li key={i} className={styles.logLine} data-level={l.level} data-type={String(l.line.type ?? '')}>
            <span className={styles.logTime} title={l.at}>
              {l.at.slice(11, 23)}
            </span>
            <span className={`${styles.badge} ${styles[`level_${l.level}`] ?? ''}`}>{l.level}</span>
            <span className={styles.logMsg}>
              {String(l.line.msg ?? '')}
              {l.line.type !== undefined && <span className={styles.logType}> {String(l.line.type)}</span>}
              {extra && <span className={styles.logExtra}>{extra}</span>}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
