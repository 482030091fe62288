import os from 'node:os';
import fs from 'node:fs';
import type { DeletionStats } from './user-deletion-stats';

/**
 * The immediate post-deployment monitor's pure parts: one sample's shape (the seed's metrics
 * JSON), threshold evaluation with de-duplication, and the dashboard text. The script in
 * scripts/monitor/immediate.ts does the I/O around them.
 */

export type HealthStatus = 'healthy' | 'degraded' | 'unreachable';

export interface MonitorSample {
  timestamp: string;
  deletion_metrics: {
    total_deletions: number;
    successful_deletions: number;
    failed_deletions: number;
    error_rate_percent: number;
    avg_response_time_ms: number | null;
    p95_response_time_ms: number | null;
    timeout_errors: number;
    window_minutes: number;
  } | null;
  /** Why deletion_metrics is null (data source unavailable). */
  deletion_metrics_error?: string;
  application_metrics: {
    health_status: HealthStatus;
    http_status: number | null;
    response_time_ms: number | null;
  };
  system_metrics: {
    memory_usage_percent: number;
    cpu_usage_percent: number;
    disk_usage_percent: number | null;
    load_average: number;
  };
}

export interface ImmediateThresholds {
  errorRateWarning: number;
  errorRateCritical: number;
  responseTimeWarningMs: number;
  responseTimeCriticalMs: number;
  timeoutsWarning: number;
  timeoutsCritical: number;
  memoryWarning: number;
  memoryCritical: number;
}

/** The seed's immediate monitoring thresholds (all "greater than"). */
export const DEFAULT_IMMEDIATE_THRESHOLDS: ImmediateThresholds = {
  errorRateWarning: 0.5,
  errorRateCritical: 1.0,
  responseTimeWarningMs: 3000,
  responseTimeCriticalMs: 5000,
  timeoutsWarning: 3,
  timeoutsCritical: 5,
  memoryWarning: 80,
  memoryCritical: 90,
};

export type AlertLevel = 'warning' | 'critical';

export interface Finding {
  key: string;
  level: AlertLevel;
  metric: string;
  value: number | string;
  threshold: number | string;
  message: string;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export function sampleFromStats(stats: DeletionStats): NonNullable<MonitorSample['deletion_metrics']> {
  return {
    total_deletions: stats.total_deletions,
    successful_deletions: stats.successful_deletions,
    failed_deletions: stats.failed_deletions,
    error_rate_percent: stats.error_rate_percent,
    avg_response_time_ms: stats.avg_duration_ms,
    p95_response_time_ms: stats.p95_duration_ms,
    timeout_errors: stats.timeouts,
    window_minutes: stats.window_minutes,
  };
}

function level(value: number, warning: number, critical: number): AlertLevel | null {
  if (value > critical) return 'critical';
  if (value > warning) return 'warning';
  return null;
}

/** Every threshold the sample crosses, one finding per metric at its highest level. */
export function evaluateSample(sample: MonitorSample, t: ImmediateThresholds): Finding[] {
  const out: Finding[] = [];
  const d = sample.deletion_metrics;
  if (!d) {
    out.push({
      key: 'deletion_metrics_unavailable',
      level: 'critical',
      metric: 'deletion_metrics',
      value: 'unavailable',
      threshold: 'available',
      message: `Deletion metrics unavailable: ${sample.deletion_metrics_error ?? 'unknown error'}`,
    });
  } else {
    const er = level(d.error_rate_percent, t.errorRateWarning, t.errorRateCritical);
    if (er && d.total_deletions > 0) {
      const th = er === 'critical' ? t.errorRateCritical : t.errorRateWarning;
      out.push({
        key: 'error_rate',
        level: er,
        metric: 'error_rate_percent',
        value: d.error_rate_percent,
        threshold: th,
        message: `Deletion error rate ${d.error_rate_percent}% > ${th}% (${d.failed_deletions} of ${d.total_deletions} in the last ${d.window_minutes} min)`,
      });
    }
    if (d.p95_response_time_ms !== null) {
      const rt = level(d.p95_response_time_ms, t.responseTimeWarningMs, t.responseTimeCriticalMs);
      if (rt) {
        const th = rt === 'critical' ? t.responseTimeCriticalMs : t.responseTimeWarningMs;
        out.push({
          key: 'response_time',
          level: rt,
          metric: 'p95_response_time_ms',
          value: d.p95_response_time_ms,
          threshold: th,
          message: `Deletion p95 response time ${d.p95_response_time_ms} ms > ${th} ms`,
        });
      }
    }
    const to = level(d.timeout_errors, t.timeoutsWarning, t.timeoutsCritical);
    if (to) {
      const th = to === 'critical' ? t.timeoutsCritical : t.timeoutsWarning;
      out.push({
        key: 'timeouts',
        level: to,
        metric: 'timeout_errors',
        value: d.timeout_errors,
        threshold: th,
        message: `${d.timeout_errors} deletion timeouts in the last ${d.window_minutes} min (> ${th})`,
      });
    }
  }
  const mem = level(sample.system_metrics.memory_usage_percent, t.memoryWarning, t.memoryCritical);
  if (mem) {
    const th = mem === 'critical' ? t.memoryCritical : t.memoryWarning;
    out.push({
      key: 'memory',
      level: mem,
      metric: 'memory_usage_percent',
      value: sample.system_metrics.memory_usage_percent,
      threshold: th,
      message: `Memory usage ${sample.system_metrics.memory_usage_percent}% > ${th}%`,
    });
  }
  if (sample.application_metrics.health_status !== 'healthy') {
    out.push({
      key: 'app_health',
      level: 'critical',
      metric: 'health_status',
      value: sample.application_metrics.health_status,
      threshold: 'healthy',
      message: `Application health: ${sample.application_metrics.health_status}${sample.application_metrics.http_status ? ` (HTTP ${sample.application_metrics.http_status})` : ''}`,
    });
  }
  return out;
}

export interface AlertEvent extends Finding {
  type: 'alert' | 'alert_resolved';
  timestamp: string;
}

/**
 * Raises an alert when a metric crosses a threshold or escalates (warning → critical), and a
 * resolution when it is back under; the same condition on the next check raises nothing.
 */
export class AlertTracker {
  private active = new Map<string, Finding>();

  update(findings: Finding[], timestamp: string): AlertEvent[] {
    const events: AlertEvent[] = [];
    const seen = new Set<string>();
    for (const f of findings) {
      seen.add(f.key);
      const prev = this.active.get(f.key);
      if (!prev || (prev.level === 'warning' && f.level === 'critical')) {
        events.push({ ...f, type: 'alert', timestamp });
      }
      this.active.set(f.key, f);
    }
    for (const [key, prev] of this.active) {
      if (!seen.has(key)) {
        this.active.delete(key);
        events.push({ ...prev, type: 'alert_resolved', timestamp, message: `Resolved: ${prev.message}` });
      }
    }
    return events;
  }

  current(): Finding[] {
    return [...this.active.values()];
  }
}

// ---------------------------------------------------------------------------------------------
// Host figures
// ---------------------------------------------------------------------------------------------

export interface CpuSnapshot {
  idle: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

export function cpuPercent(prev: CpuSnapshot, next: CpuSnapshot): number {
  const total = next.total - prev.total;
  if (total <= 0) return 0;
  return round(100 * (1 - (next.idle - prev.idle) / total));
}

export function systemFigures(cpu: number, dir = process.cwd()): MonitorSample['system_metrics'] {
  const total = os.totalmem();
  let disk: number | null = null;
  try {
    const s = fs.statfsSync(dir);
    disk = s.blocks > 0 ? round(100 * (1 - s.bavail / s.blocks)) : null;
  } catch {
    disk = null;
  }
  return {
    memory_usage_percent: round(100 * (1 - os.freemem() / total)),
    cpu_usage_percent: cpu,
    disk_usage_percent: disk,
    load_average: round(os.loadavg()[0], 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------

export interface DashboardState {
  now: Date;
  startedAt: Date;
  durationSeconds: number;
  checkIntervalSeconds: number;
  appUrl: string;
  source: string;
  checks: number;
  sample: MonitorSample | null;
  active: Finding[];
  recentAlerts: AlertEvent[];
  nextCheckInSeconds: number;
  reportFile: string;
}

const ESC = '\x1b[';
const paint = (code: string, text: string, color: boolean) => (color ? `${ESC}${code}m${text}${ESC}0m` : text);
export const ansi = {
  hideCursor: `${ESC}?25l`,
  showCursor: `${ESC}?25h`,
  clearScreen: `${ESC}2J${ESC}H`,
  home: `${ESC}H`,
  clearLine: `${ESC}K`,
  clearBelow: `${ESC}J`,
};

function status(lvl: AlertLevel | null, color: boolean): string {
  if (lvl === 'critical') return paint('31;1', 'CRITICAL', color);
  if (lvl === 'warning') return paint('33;1', 'WARNING', color);
  return paint('32', 'OK', color);
}

function fmtMs(v: number | null): string {
  return v === null ? 'n/a' : `${Math.round(v)} ms`;
}

/** The dashboard's lines (without cursor control). */
export function renderDashboard(s: DashboardState, color: boolean): string[] {
  const bar = '='.repeat(64);
  const levelOf = (key: string) => s.active.find((f) => f.key === key)?.level ?? null;
  const elapsedH = (s.now.getTime() - s.startedAt.getTime()) / 3_600_000;
  const lines = [
    paint('36;1', bar, color),
    paint('1', ' IMMEDIATE POST-DEPLOYMENT MONITORING - USER DELETION ENDPOINT', color),
    paint('36;1', bar, color),
    `Timestamp: ${s.now.toISOString()}`,
    `Monitoring Duration: ${s.durationSeconds} seconds (${round(s.durationSeconds / 3600, 1)} hours)`,
    `Elapsed Time: ${round(elapsedH, 2)} hours   Checks: ${s.checks}`,
    `Application URL: ${s.appUrl}   Data source: ${s.source}`,
    '',
  ];
  const d = s.sample?.deletion_metrics;
  lines.push(paint('1', `USER DELETION METRICS (Last ${d?.window_minutes ?? 60} min)`, color));
  if (!s.sample) {
    lines.push('  waiting for the first check...');
  } else if (!d) {
    lines.push(`  ${paint('31;1', 'unavailable', color)}: ${s.sample.deletion_metrics_error ?? ''}`);
  } else {
    lines.push(
      `  Total Deletions: ${d.total_deletions}`,
      `  Successful: ${paint('32', String(d.successful_deletions), color)}`,
      `  Failed: ${d.failed_deletions > 0 ? paint('31', String(d.failed_deletions), color) : '0'}`,
      `  Error Rate: ${d.error_rate_percent}% (${status(levelOf('error_rate'), color)})`,
      `  Avg Response Time: ${fmtMs(d.avg_response_time_ms)}`,
      `  P95 Response Time: ${fmtMs(d.p95_response_time_ms)} (${status(levelOf('response_time'), color)})`,
      `  Timeout Errors: ${d.timeout_errors} (${status(levelOf('timeouts'), color)})`,
    );
  }
  lines.push('', paint('1', 'APPLICATION HEALTH', color));
  if (s.sample) {
    const a = s.sample.application_metrics;
    const h = a.health_status === 'healthy' ? paint('32', a.health_status, color) : paint('31;1', a.health_status, color);
    lines.push(`  Health Status: ${h}`, `  Response Time: ${fmtMs(a.response_time_ms)}`);
  } else {
    lines.push('  waiting for the first check...');
  }
  lines.push('', paint('1', 'SYSTEM RESOURCES', color));
  if (s.sample) {
    const m = s.sample.system_metrics;
    lines.push(
      `  Memory Usage: ${m.memory_usage_percent}% (${status(levelOf('memory'), color)})`,
      `  CPU Usage: ${m.cpu_usage_percent}%`,
      `  Disk Usage: ${m.disk_usage_percent === null ? 'n/a' : `${m.disk_usage_percent}%`}`,
      `  Load Average: ${m.load_average}`,
    );
  } else {
    lines.push('  waiting for the first check...');
  }
  lines.push('', paint('1', 'RECENT ALERTS (Last 5)', color));
  const recent = s.recentAlerts.slice(-5);
  if (recent.length === 0) lines.push('  No alerts');
  for (const a of recent) {
    const tag = a.type === 'alert_resolved' ? paint('32', 'RESOLVED', color) : status(a.level, color);
    lines.push(`  ${a.timestamp.slice(11, 19)} ${tag} ${a.message}`);
  }
  lines.push(
    '',
    paint('1', 'MONITORING STATUS', color),
    '  Press Ctrl+C to stop monitoring',
    `  Next check in: ${Math.max(0, Math.ceil(s.nextCheckInSeconds))} seconds`,
    `  Metrics file: ${s.reportFile}`,
  );
  return lines;
}

/** One in-place frame: cursor home, each line cleared to its end, the rest of the screen cleared. */
export function frame(lines: string[]): string {
  return `${ansi.home}${lines.map((l) => `${l}${ansi.clearLine}`).join('\n')}\n${ansi.clearBelow}`;
}
