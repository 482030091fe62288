/**
 * How the command-line tools print: a readable summary (tables, colours) for a person at a
 * terminal; JSON for machines (`--json`, and whenever stdout is not a terminal, so pipes, CI and
 * log shippers get what they parse). Colours follow https://no-color.org (NO_COLOR set: none).
 */
import cliProgress from 'cli-progress';

export type OutputMode = 'human' | 'json';

/** `--json` forces JSON; otherwise a terminal gets the readable form. */
export function outputMode(argv: readonly string[], stdoutIsTTY = Boolean(process.stdout.isTTY)): OutputMode {
  if (argv.includes('--json')) return 'json';
  return stdoutIsTTY ? 'human' : 'json';
}

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (on: boolean, code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** ANSI colours when `enabled`, plain text otherwise. */
export function paint(enabled: boolean): Paint {
  return { bold: sgr(enabled, '1'), dim: sgr(enabled, '2'), red: sgr(enabled, '31'), green: sgr(enabled, '32'), yellow: sgr(enabled, '33'), cyan: sgr(enabled, '36') };
}

/** Colours for this process's terminal: on a TTY, unless NO_COLOR is set. */
export function terminalPaint(): Paint {
  return paint(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string) => [...s.replace(ANSI, '')].length;

/**
 * Rows as an aligned table with a header rule; cells may carry colours (widths ignore them).
 * Columns listed in `alignRight` (0-based) are right-aligned (numbers).
 */
export function table(header: string[], rows: string[][], options: { alignRight?: number[]; paint?: Paint } = {}): string {
  const p = options.paint ?? paint(false);
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const cell = (s: string, i: number) => {
    const pad = ' '.repeat(widths[i] - visibleLength(s));
    return options.alignRight?.includes(i) ? pad + s : s + pad;
  };
  const line = (r: string[]) => r.map((c, i) => cell(c ?? '', i)).join('  ').trimEnd();
  return [p.bold(line(header)), p.dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(line)].join('\n');
}

/** A thousands-separated integer, or '-' for null. */
export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** Milliseconds as a person reads them: 850 ms, 2.4 s, 3 min 5 s. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Key/value lines, keys padded to one width. */
export function keyValues(pairs: [string, string][], p: Paint = paint(false)): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${p.dim(k.padEnd(w))}  ${v}`).join('\n');
}

export interface Progress {
  update(done: number, total: number, step?: string): void;
  stop(): void;
}

/** A progress bar on stderr, only when stderr is a terminal (never in logs or pipes). */
export function progressBar(label: string): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} {step}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, step = '') {
      if (!started) {
        bar.start(Math.max(total, 1), done, { step });
        started = true;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done, { step });
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/**
 * A bar for work whose length is unknown but bounded by a budget (a job's maxDuration): elapsed
 * seconds of the budget, refreshed every second until stopped. Only on a terminal.
 */
export function elapsedBar(label: string, budgetSeconds: number): Progress {
  const bar = progressBar(label);
  if (!process.stderr.isTTY) return bar;
  const start = Date.now();
  const tick = () => {
    const s = Math.min(budgetSeconds, Math.floor((Date.now() - start) / 1000));
    bar.update(s, budgetSeconds, `s of the ${budgetSeconds} s budget`);
  };
  tick();
  const timer = setInterval(tick, 1000);
  return {
    update() {},
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}
