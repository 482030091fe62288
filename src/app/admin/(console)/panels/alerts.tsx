import type { JobDeps } from '@/lib/cron/types';
import { alertsOverview, type AlertView } from '@/lib/alerts/admin';
import { formatUtc, relativeTime } from '@/lib/admin/format';
import { iso } from '@/lib/admin/jobs';
import { settle } from '@/lib/admin/settle';
import styles from '../../admin.module.css';
import { EndSilenceButton, SilenceControl } from '../alert-actions';
import { Badge, PanelUnavailable, Stat } from './common';

const RECENT = 10;

function valueText(a: AlertView): string {
  if (a.value === null) return '—';
  const value = Number(a.value.toFixed(2));
  const ops: Record<string, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤' };
  const op = ops[a.comparison ?? ''] ?? 'vs';
  return a.threshold === null ? String(value) : `${value} ${op} ${a.threshold}`;
}

export async function AlertsPanel({ deps }: { deps: JobDeps }) {
  const now = deps.now();
  const data = await settle('alerts', () => alertsOverview(deps.db, now, RECENT));
  return (
    <section id="alerts" className={styles.panel}>
      <h2>Alerts</h2>
      <p className={styles.panelNote}>Evaluated by the alerts job on its schedule; a silence stops notifications, not evaluation.</p>
      {!data.ok ? <PanelUnavailable message={data.message} /> : <AlertsBody {...data.value} now={now} />}
    </section>
  );
}

function AlertsBody({ open, recent, silences, counts, now }: Awaited<ReturnType<typeof alertsOverview>> & { now: Date }) {
  const total = (k: 'open_alerts' | 'pending_alerts' | 'silenced_alerts') => counts.reduce((n, c) => n + c[k], 0);
  const critical = counts.filter((c) => c.severity === 'CRITICAL').reduce((n, c) => n + c.open_alerts, 0);
  const resolved = recent.filter((a) => a.state === 'resolved');
  return (
    <>
      <div className={styles.stats}>
        <Stat label="Open" value={total('open_alerts')} tone={total('open_alerts') > 0 ? 'bad' : 'ok'} />
        <Stat label="Critical open" value={critical} tone={critical > 0 ? 'bad' : undefined} />
        <Stat label="Pending" value={total('pending_alerts')} tone={total('pending_alerts') > 0 ? 'warn' : undefined} hint="Condition holds, not yet for long enough" />
        <Stat label="Silenced" value={total('silenced_alerts')} />
      </div>

      <h3>Open and pending</h3>
      {open.length === 0 ? (
        <div className={styles.empty}>No open alerts.</div>
      ) : (
        <div className={styles.tableWrap}>
          <table className={`${styles.table} ${styles.cards}`} data-testid="open-alerts">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Alert</th>
                <th>Subject</th>
                <th>State</th>
                <th className={styles.num}>Value</th>
                <th>Since</th>
                <th>Respond within</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {open.map((a) => (
                <tr key={a.id ?? `${a.rule_id}:${a.subject}`} data-alert-rule={a.rule_id} data-alert-subject={a.subject}>
                  <td data-label="Severity">
                    <Badge status={a.severity} />
                  </td>
                  <td className={styles.cardHead} data-label="Alert">
                    {a.title}
                    <span className={`${styles.sub} ${styles.mono}`}>{a.rule_id}</span>
                    {a.runbook && (
                      <details className={styles.runbook}>
                        <summary>Runbook</summary>
                        {a.runbook}
                      </details>
                    )}
                  </td>
                  <td className={styles.mono} data-label="Subject">
                    {a.subject}
                  </td>
                  <td className={styles.nowrap} data-label="State">
                    <span>
                      <Badge status={a.state ?? 'unknown'} /> {a.silenced && <Badge status="silenced" />}
                    </span>
                  </td>
                  <td className={styles.num} data-label="Value">
                    {valueText(a)}
                  </td>
                  <td className={styles.nowrap} data-label="Since">
                    {relativeTime(iso(a.opened_at ?? a.first_seen), now)}
                    <span className={styles.sub}>{formatUtc(iso(a.opened_at ?? a.first_seen))}</span>
                  </td>
                  <td data-label="Respond within">{a.response_sla ?? '—'}</td>
                  <td className={styles.cardActions}>{!a.silenced && <SilenceControl ruleId={a.rule_id} subject={a.subject} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {silences.length > 0 && (
        <>
          <h3>Silences in force</h3>
          <div className={styles.tableWrap}>
            <table className={`${styles.table} ${styles.cards}`} data-testid="silences">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Subject</th>
                  <th>Until</th>
                  <th>Reason</th>
                  <th>By</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {silences.map((s) => (
                  <tr key={s.id} data-silence-rule={s.rule_id}>
                    <td className={`${styles.mono} ${styles.cardHead}`} data-label="Rule">
                      {s.rule_id}
                    </td>
                    <td className={styles.mono} data-label="Subject">
                      {s.subject ?? 'every subject'}
                    </td>
                    <td className={styles.nowrap} data-label="Until">
                      {relativeTime(iso(s.until), now)}
                      <span className={styles.sub}>{formatUtc(iso(s.until))}</span>
                    </td>
                    <td data-label="Reason">{s.reason}</td>
                    <td data-label="By">{s.created_by}</td>
                    <td className={styles.cardActions}>
                      <EndSilenceButton id={s.id} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}

      <h3>Recently resolved</h3>
      {resolved.length === 0 ? (
        <div className={styles.empty}>No resolved alerts yet.</div>
      ) : (
        <div className={styles.tableWrap}>
          <table className={`${styles.table} ${styles.cards}`} data-testid="resolved-alerts">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Alert</th>
                <th>Subject</th>
                <th>Opened</th>
                <th>Resolved</th>
              </tr>
            </thead>
            <tbody>
              {resolved.map((a) => (
                <tr key={a.id ?? `${a.rule_id}:${a.subject}:${String(a.resolved_at)}`}>
                  <td data-label="Severity">
                    <Badge status={a.severity} />
                  </td>
                  <td className={styles.cardHead} data-label="Alert">
                    {a.title}
                  </td>
                  <td className={styles.mono} data-label="Subject">
                    {a.subject}
                  </td>
                  <td className={styles.nowrap} data-label="Opened">
                    {formatUtc(iso(a.opened_at))}
                  </td>
                  <td className={styles.nowrap} data-label="Resolved">
                    {relativeTime(iso(a.resolved_at), now)}
                    <span className={styles.sub}>{formatUtc(iso(a.resolved_at))}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
