/** Prints the jobs as a Markdown table: registry + the schedule table (used for the README). */
import { jobs } from '../src/lib/cron/registry';
import { describeSchedule, scheduleOf } from '../src/lib/cron/schedule';

console.log('| Job | Route | Schedule (UTC) | Max duration | What it does |');
console.log('|---|---|---|---|---|');
for (const job of jobs) {
  const schedule = scheduleOf(job.name) ?? '(none)';
  console.log(
    `| \`${job.name}\` | \`GET /api/cron/${job.name}\` | \`${schedule}\` (${describeSchedule(schedule).replace(' (UTC)', '')}) | ${job.maxDurationSeconds} s | ${job.description} |`,
  );
}
