/**
 * The jobs: registry + the schedule table.
 *   npx tsx scripts/list-jobs.ts              a table on a terminal, JSON otherwise
 *   npx tsx scripts/list-jobs.ts --json       JSON (one object per job)
 *   npx tsx scripts/list-jobs.ts --markdown   the README's Markdown table
 */
import { jobs } from '../src/lib/cron/registry';
import { describeSchedule, scheduleOf } from '../src/lib/cron/schedule';
import { outputMode, table, terminalPaint } from './lib/terminal';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--json' && a !== '--markdown');
if (unknown.length) {
  console.error(`Unknown argument(s): ${unknown.join(' ')}\nusage: npx tsx scripts/list-jobs.ts [--json | --markdown]`);
  process.exit(2);
}

const rows = jobs.map((job) => {
  const schedule = scheduleOf(job.name) ?? null;
  return {
    job: job.name,
    route: `GET /api/cron/${job.name}`,
    schedule,
    schedule_text: schedule ? describeSchedule(schedule).replace(' (UTC)', '') : 'not scheduled',
    max_duration_seconds: job.maxDurationSeconds,
    description: job.description,
  };
});

if (args.includes('--markdown')) {
  console.log('| Job | Route | Schedule (UTC) | Max duration | What it does |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| \`${r.job}\` | \`${r.route}\` | \`${r.schedule ?? '(none)'}\` (${r.schedule_text}) | ${r.max_duration_seconds} s | ${r.description} |`);
  }
} else if (outputMode(args) === 'json') {
  console.log(JSON.stringify(rows));
} else {
  const p = terminalPaint();
  console.log(
    table(
      ['Job', 'Schedule (UTC)', 'When', 'Budget', 'What it does'],
      rows.map((r) => [p.bold(r.job), r.schedule ?? '-', r.schedule_text, `${r.max_duration_seconds} s`, r.description]),
      { alignRight: [3], paint: p },
    ),
  );
  console.log(p.dim(`\nRun one: npx tsx scripts/run-job.ts <job> [--dry-run]; routes: GET /api/cron/<job> with "Authorization: Bearer $CRON_SECRET".`));
}
