import Link from 'next/link';
import type { JobDeps } from '@/lib/cron/types';
import { formatBytes, formatCount, formatUtc, relativeTime } from '@/lib/admin/format';
import { settle } from '@/lib/admin/settle';
import { readMaintenanceStatus } from '@/lib/monitoring/maintenance-status';
import styles from '../../admin.module.css';
import { Badge, FeatureUnavailable, PanelUnavailable, Stat } from './common';

export async function MaintenancePanel({ deps }: { deps: JobDeps }) {
  const now = deps.now();
  const feature = deps.features.imports;
  if (!feature.bound) {
    return (
      <section id="maintenance" className={styles.panel}>
        <h2>Import maintenance</h2>
        <FeatureUnavailable state={feature} />
      </section>
    );
  }
  const data = await settle('maintenance', () => readMaintenanceStatus(deps.db, now));
  return (
    <section id="maintenance" className={styles.panel}>
      <h2>Import maintenance</h2>
      <p className={styles.panelNote}>What the maintenance job has due now, and its last run.</p>
      {!data.ok ? (
        <PanelUnavailable message={data.message} />
      ) : (
        <>
          <div className={styles.stats}>
            <Stat label="Stuck import runs" value={formatCount(data.value.stuckRuns)} tone={data.value.stuckRuns > 0 ? 'bad' : 'ok'} />
            <Stat
              label="Old temp uploads"
              value={`${formatCount(data.value.oldTempUploads)} · ${formatBytes(data.value.oldTempUploadBytes)}`}
              tone={data.value.oldTempUploads > 0 ? 'warn' : undefined}
            />
            <Stat label="Old raw import items" value={formatCount(data.value.oldRawItems)} tone={data.value.oldRawItems > 0 ? 'warn' : undefined} />
            <Stat label="Jobs due for compaction" value={formatCount(data.value.jobsDueForCompaction)} />
          </div>
          <dl className={styles.kv}>
            <dt>Oldest stuck heartbeat</dt>
            <dd>
              {data.value.oldestStuckHeartbeatAt
                ? `${formatUtc(data.value.oldestStuckHeartbeatAt)} (${relativeTime(data.value.oldestStuckHeartbeatAt, now)})`
                : 'none'}
            </dd>
            <dt>Last run</dt>
            <dd>
              {data.value.lastRun ? (
                <>
                  <Badge status={data.value.lastRun.status} />{' '}
                  <Link href={`/admin/runs/${data.value.lastRun.runId}`}>
                    {formatUtc(data.value.lastRun.startedAt)} ({relativeTime(data.value.lastRun.startedAt, now)})
                  </Link>
                  {data.value.lastRun.errorCount > 0 && ` · ${data.value.lastRun.errorCount} error(s)`}
                </>
              ) : (
                <span className={styles.unavailable}>never</span>
              )}
            </dd>
            {data.value.lastRun?.error && (
              <>
                <dt>Last error</dt>
                <dd className={styles.errorText}>{data.value.lastRun.error}</dd>
              </>
            )}
          </dl>
        </>
      )}
    </section>
  );
}
