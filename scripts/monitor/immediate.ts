/**
 * `npm run monitor:immediate`: the first 24-48 hours after a deployment of the user deletion
 * endpoint. Every CHECK_INTERVAL seconds for MONITORING_DURATION seconds it reads the last hour's
 * deletion figures (from the running app's admin endpoint when APP_URL/PROD_APP_URL and
 * ADMIN_API_TOKEN are set, else from the database), the app's /api/health and the host's
 * memory/CPU/disk; raises alerts at the seed's thresholds; keeps
 * REPORTS_DIR/user-deletion/immediate-metrics-<start>.json current and appends alert lines to
 * immediate-alerts-<start>.log. On a terminal it draws a live dashboard and ends with a readable
 * summary; with `--json` (and whenever stdout is not a terminal) it prints one JSON line per check
 * and alert, and a last one when it ends. Ctrl+C (SIGINT) or SIGTERM ends it cleanly with the report written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../src/lib/db/types';
import { deletionStats, type DeletionStats } from '../../src/lib/monitoring/user-deletion-stats';
import {
  AlertTracker,
  ansi,
  cpuPercent,
  cpuSnapshot,
  evaluateSample,
  frame,
  renderDashboard,
  sampleFromStats,
  systemFigures,
  type AlertEvent,
  type CpuSnapshot,
  type HealthStatus,
  type MonitorSample,
} from '../../src/lib/monitoring/user-deletion-monitor';
import { loadMonitorConfig, type MonitorConfig } from './config';
import { fileStamp, openMonitorDb, reportDir, runMain, writeJsonAtomic } from './common';
import { keyValues, outputMode, paint } from '../lib/terminal';

const HISTORY_LIMIT = 2880;
const HTTP_TIMEOUT_MS = 10_000;

interface Source {
  name: string;
  stats(): Promise<DeletionStats>;
  close(): Promise<void>;
}

function httpSource(cfg: MonitorConfig): Source {
  const url = `${cfg.appUrl}/api/admin/users/deletion-stats?minutes=${cfg.statsWindowMinutes}&hours=1`;
  return {
    name: `http (${cfg.appUrl})`,
    async stats() {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${cfg.app.admin.apiToken}` },
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      const body = (await res.json().catch(() => null)) as { result?: { stats?: DeletionStats }; error?: { code?: string; message?: string } } | null;
      if (!res.ok || !body?.result?.stats) {
        throw new Error(`GET /api/admin/users/deletion-stats answered ${res.status}${body?.error ? ` ${body.error.code}: ${body.error.message}` : ''}`);
      }
      return body.result.stats;
    },
    async close() {},
  };
}

async function dbSource(cfg: MonitorConfig): Promise<Source> {
  const db: Db = await openMonitorDb(cfg);
  return {
    name: `database (${cfg.app.db.driver})`,
    stats: () => deletionStats(db, { minutes: cfg.statsWindowMinutes, now: new Date() }),
    close: () => db.close(),
  };
}

async function health(appUrl: string): Promise<MonitorSample['application_metrics']> {
  const t = performance.now();
  try {
    const res = await fetch(`${appUrl}/api/health`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const body = (await res.json().catch(() => null)) as { status?: string } | null;
    const status: HealthStatus = res.status === 200 && body?.status === 'ok' ? 'healthy' : 'degraded';
    return { health_status: status, http_status: res.status, response_time_ms: Math.round(performance.now() - t) };
  } catch {
    return { health_status: 'unreachable', http_status: null, response_time_ms: null };
  }
}

runMain(async () => {
  const cfg = loadMonitorConfig();
  const dir = reportDir(cfg);
  const startedAt = new Date();
  const stamp = fileStamp(startedAt);
  const metricsFile = path.join(dir, `immediate-metrics-${stamp}.json`);
  const alertsFile = path.join(dir, `immediate-alerts-${stamp}.log`);
  const tty = outputMode(process.argv.slice(2)) === 'human';
  const color = tty && cfg.color;
  const source = cfg.useHttp ? httpSource(cfg) : await dbSource(cfg);

  const tracker = new AlertTracker();
  const alerts: AlertEvent[] = [];
  const history: MonitorSample[] = [];
  let latest: MonitorSample | null = null;
  let checks = 0;
  let prevCpu: CpuSnapshot | null = null;
  let nextCheckAt = Date.now();
  // The period counts from when the source can answer: opening the embedded database can take
  // longer than a short MONITORING_DURATION on a busy machine, and a run must check at least once.
  const endAt = Date.now() + cfg.monitoringDurationSeconds * 1000;
  let status: 'running' | 'completed' | 'interrupted' = 'running';

  const writeReport = () =>
    writeJsonAtomic(metricsFile, {
      monitoring: {
        started_at: startedAt.toISOString(),
        finished_at: status === 'running' ? null : new Date().toISOString(),
        status,
        monitoring_duration_seconds: cfg.monitoringDurationSeconds,
        check_interval_seconds: cfg.checkIntervalSeconds,
        checks,
        data_source: source.name,
        application_url: cfg.appUrl,
        thresholds: cfg.immediate,
        alerts_file: alertsFile,
      },
      ...(latest ?? { timestamp: null }),
      active_alerts: tracker.current(),
      alerts,
      history,
    });

  const emit = (line: Record<string, unknown>) => {
    if (!tty) process.stdout.write(`${JSON.stringify(line)}\n`);
  };

  const check = async () => {
    const now = new Date();
    const next = cpuSnapshot();
    let cpu: number;
    if (prevCpu) {
      cpu = cpuPercent(prevCpu, next);
      prevCpu = next;
    } else {
      await new Promise((r) => setTimeout(r, 250));
      prevCpu = cpuSnapshot();
      cpu = cpuPercent(next, prevCpu);
    }
    const [stats, app] = await Promise.all([
      source.stats().then(
        (s) => ({ ok: true as const, s }),
        (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }),
      ),
      health(cfg.appUrl),
    ]);
    const sample: MonitorSample = {
      timestamp: now.toISOString(),
      deletion_metrics: stats.ok ? sampleFromStats(stats.s) : null,
      ...(stats.ok ? {} : { deletion_metrics_error: stats.error }),
      application_metrics: app,
      system_metrics: systemFigures(cpu),
    };
    latest = sample;
    checks++;
    history.push(sample);
    if (history.length > HISTORY_LIMIT) history.shift();
    const events = tracker.update(evaluateSample(sample, cfg.immediate), sample.timestamp);
    for (const e of events) {
      alerts.push(e);
      fs.appendFileSync(alertsFile, `${JSON.stringify(e)}\n`);
      emit(e as unknown as Record<string, unknown>);
    }
    emit({ type: 'user_deletion_monitor_check', check: checks, ...sample });
    writeReport();
  };

  const draw = () => {
    if (!tty) return;
    const lines = renderDashboard(
      {
        now: new Date(),
        startedAt,
        durationSeconds: cfg.monitoringDurationSeconds,
        checkIntervalSeconds: cfg.checkIntervalSeconds,
        appUrl: cfg.appUrl,
        source: source.name,
        checks,
        sample: latest,
        active: tracker.current(),
        recentAlerts: alerts,
        nextCheckInSeconds: (nextCheckAt - Date.now()) / 1000,
        reportFile: metricsFile,
      },
      color,
    );
    process.stdout.write(frame(lines));
  };

  let finishing: Promise<void> | null = null;
  const finish = (why: 'completed' | 'interrupted') => {
    finishing ??= (async () => {
      status = why;
      writeReport();
      if (tty) {
        draw();
        process.stdout.write(`${ansi.showCursor}\n`);
      }
      const raised = alerts.filter((a) => a.type === 'alert').length;
      if (tty) {
        const p = paint(color);
        const active = tracker.current();
        process.stdout.write(
          `${p.bold(`Monitoring ${why}`)} after ${checks} check(s)\n${keyValues(
            [
              ['alerts raised', raised === 0 ? p.green('0') : p.red(String(raised))],
              ['still active', active.length === 0 ? p.green('none') : p.red(active.map((a) => `${a.key} (${a.level})`).join(', '))],
              ['report', metricsFile],
              ['alert log', alertsFile],
            ],
            p,
          )}\n`,
        );
      } else {
        process.stdout.write(
          `${JSON.stringify({ type: 'user_deletion_monitor_finished', status: why, checks, alerts: raised, report_file: metricsFile })}\n`,
        );
      }
      await Promise.race([source.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
      process.exit(0);
    })();
    return finishing;
  };
  process.on('SIGINT', () => void finish('interrupted'));
  process.on('SIGTERM', () => void finish('interrupted'));
  process.on('SIGHUP', () => void finish('interrupted'));

  if (tty) process.stdout.write(ansi.hideCursor + ansi.clearScreen);
  writeReport();
  draw();
  // At least one check, however long opening the source took (PGlite needs seconds on a busy machine).
  while ((Date.now() < endAt || checks === 0) && !finishing) {
    if (Date.now() >= nextCheckAt) {
      await check();
      nextCheckAt += cfg.checkIntervalSeconds * 1000;
      // A check slower than the interval: start the next one from now, not in a burst.
      if (nextCheckAt < Date.now()) nextCheckAt = Date.now() + cfg.checkIntervalSeconds * 1000;
    }
    if (finishing) break;
    draw();
    const wait = Math.min(1000, Math.max(10, Math.min(nextCheckAt, endAt) - Date.now()));
    await new Promise((r) => setTimeout(r, wait));
  }
  await finish('completed');
});
