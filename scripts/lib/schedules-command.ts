import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getJob, jobs } from '../../src/lib/cron/registry';
import { POLICY_MAX_DURATION_SECONDS } from '../../src/lib/jobs/policy';
import { describeSchedule } from '../../src/lib/cron/schedule';
import { projectScheduleProblems } from '../../src/lib/schedules/check';
import { jobFirings } from '../../src/lib/schedules/firing';
import { SCHEDULER_NAMES, SCHEDULERS, parseSchedulerDeclaration, type SchedulerName } from '../../src/lib/schedules/scheduler';
import { renderSupabaseCronMigration, PG_CRON_JOB_PREFIX, VAULT_SECRET_NAME } from '../../src/lib/schedules/supabase-cron';
import { DISPATCH_MAX_DURATION_SECONDS, DISPATCH_PATH, HOBBY_DISPATCH_SCHEDULE, scheduleTable } from '../../src/lib/schedules/table';
import { checkVercelCrons, renderVercelJson, VERCEL_JSON_SCHEMA } from '../../src/lib/schedules/vercel';

export interface CommandIo {
  /** The project's root: vercel.json and scheduler.json live here. */
  cwd: string;
  now: Date;
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage: npx tsx scripts/schedules.ts [--target NAME] [--check | --write] [options]

Prints, checks or writes the job schedules for one scheduler (README: Which scheduler?).
  --target NAME  vercel-pro (vercel.json, one cron per job), vercel-hobby (vercel.json, one daily
                 cron calling /api/cron/dispatch), supabase-cron (a pg_cron + pg_net migration)
                 or local (npm start). Default: what scheduler.json declares.
  --check        check that scheduler.json declares NAME and vercel.json fits it and its plan;
                 exit 1 when not.
  --write        write vercel.json and scheduler.json for NAME; for supabase-cron also the
                 migration (--out), and vercel.json without crons.
  --url URL      supabase-cron: the deployed app's address that pg_net calls (required).
  --out PATH     supabase-cron: where to write the migration
                 (default supabase/migrations/<timestamp>_cronwarden_schedules.sql).
  --dir PATH     the project root (default: the current directory).
`;

/** Every route Vercel deploys with its maxDuration: the jobs' routes, the policies' route and the dispatcher. */
export function deployedRoutes(): { path: string; maxDurationSeconds: number }[] {
  return [
    ...jobs.map((j) => ({ path: `/api/cron/${j.name}`, maxDurationSeconds: j.maxDurationSeconds })),
    { path: '/api/cron/policies/[name]', maxDurationSeconds: POLICY_MAX_DURATION_SECONDS },
    { path: DISPATCH_PATH, maxDurationSeconds: DISPATCH_MAX_DURATION_SECONDS },
  ];
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** `20261130170512`: Supabase CLI migration version, UTC. */
export function migrationTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function summary(target: SchedulerName): string[] {
  const info = SCHEDULERS[target];
  const lines = [`Target: ${target} (${info.label})`];
  const crons = info.vercelCrons();
  const firings = jobFirings(target);
  const table = scheduleTable();
  const width = Math.max(...table.map((s) => s.job.length)) + 2;
  if (target === 'vercel-hobby') {
    lines.push(
      `vercel.json: 1 cron, ${DISPATCH_PATH} at ${HOBBY_DISPATCH_SCHEDULE}: ${describeSchedule(HOBBY_DISPATCH_SCHEDULE)}, and on Hobby`,
      '  Vercel calls it anywhere within that hour. Each time, the dispatcher runs every job that is due',
      `  since its last recorded run, one after the other, within ${DISPATCH_MAX_DURATION_SECONDS} s.`,
      '',
    );
    const less = firings.filter((f) => f.lessOften);
    if (less.length) {
      lines.push(`These ${less.length} jobs run once a day on Hobby instead of their own schedule:`);
      for (const f of less) {
        const means = table.find((s) => s.job === f.job)?.onceADayMeans ?? '(no description)';
        lines.push(`  ${f.job} (${describeSchedule(f.schedule).replace(' (UTC)', '').toLowerCase()} -> once a day):`, `      ${means}.`);
      }
      lines.push('');
    }
    lines.push('These keep their frequency (they run at the first dispatch after their own time):');
    for (const f of firings.filter((x) => !x.lessOften)) lines.push(`  ${f.job.padEnd(width)}${describeSchedule(f.schedule)}`);
  } else if (target === 'supabase-cron') {
    lines.push(`pg_cron: ${firings.length} schedules named ${PG_CRON_JOB_PREFIX}<job>, each at the job's own schedule, calling`);
    lines.push(`  its route with net.http_get and the secret from Vault (${VAULT_SECRET_NAME}); vercel.json: no crons.`);
    for (const f of firings) lines.push(`  ${f.job.padEnd(width)}${f.schedule.padEnd(14)}${describeSchedule(f.schedule)}`);
  } else {
    lines.push(
      target === 'local'
        ? `The local scheduler (npm start) fires ${firings.length} jobs at their own schedules; vercel.json keeps the Pro crons.`
        : `vercel.json: ${crons.length} crons, one per job at its own schedule:`,
    );
    for (const f of firings) lines.push(`  ${f.job.padEnd(width)}${f.schedule.padEnd(14)}${describeSchedule(f.schedule)}`);
    const refusedOnHobby = checkVercelCrons({ crons }, 'hobby');
    if (refusedOnHobby.length) {
      lines.push('', `On Vercel Hobby this vercel.json would be refused (${refusedOnHobby.length} crons run more than once a day); use --target vercel-hobby there.`);
    }
  }
  return lines;
}

/** Runs the command; returns the exit code. Never calls process.exit. */
export function runSchedulesCommand(argv: string[], io: CommandIo): number {
  let values: { target?: string; check?: boolean; write?: boolean; url?: string; out?: string; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: 'string' },
        check: { type: 'boolean' },
        write: { type: 'boolean' },
        url: { type: 'string' },
        out: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.check && values.write) {
    io.err('Give --check or --write, not both.\n');
    return 2;
  }
  const dir = path.resolve(io.cwd, values.dir ?? '.');
  const declarationFile = path.join(dir, 'scheduler.json');
  const vercelFile = path.join(dir, 'vercel.json');
  const declaration = fs.existsSync(declarationFile) ? readJson(declarationFile) : { scheduler: 'vercel-pro' };

  let target: SchedulerName;
  if (values.target === undefined) {
    try {
      target = parseSchedulerDeclaration(declaration);
    } catch (err) {
      io.err(`${(err as Error).message}\n`);
      return 1;
    }
  } else if ((SCHEDULER_NAMES as readonly string[]).includes(values.target)) {
    target = values.target as SchedulerName;
  } else {
    io.err(`--target: must be one of ${SCHEDULER_NAMES.join(', ')} (got ${values.target.slice(0, 40)})\n`);
    return 2;
  }
  if ((values.url || values.out) && target !== 'supabase-cron') {
    io.err('--url and --out are for --target supabase-cron.\n');
    return 2;
  }

  const info = SCHEDULERS[target];
  const vercelBase = fs.existsSync(vercelFile) ? (readJson(vercelFile) as Record<string, unknown>) : { $schema: VERCEL_JSON_SCHEMA };
  const vercelText = renderVercelJson(info.vercelCrons(), vercelBase);

  let migration: string | undefined;
  if (target === 'supabase-cron' && !values.check) {
    if (!values.url) {
      io.err('--target supabase-cron needs --url https://<your app> (the deployed address pg_net calls).\n');
      return 2;
    }
    try {
      migration = renderSupabaseCronMigration({
        appUrl: values.url,
        generatedAt: io.now,
        jobs: scheduleTable().map((s) => ({
          job: s.job,
          schedule: s.schedule,
          maxDurationSeconds: getJob(s.job)?.maxDurationSeconds ?? 60,
        })),
      });
    } catch (err) {
      io.err(`${(err as Error).message}\n`);
      return 2;
    }
    const host = new URL(values.url).hostname;
    if (host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]') {
      io.err(`Warning: ${host} is the database server itself from pg_net's side; give the app's public address.\n`);
    }
  }

  io.out(`${summary(target).join('\n')}\n`);

  if (values.check) {
    const vercelOnDisk = fs.existsSync(vercelFile) ? readJson(vercelFile) : {};
    const problems = projectScheduleProblems({ declaration, vercelJson: vercelOnDisk, routes: deployedRoutes() });
    const declared = (() => {
      try {
        return parseSchedulerDeclaration(declaration);
      } catch {
        return undefined;
      }
    })();
    if (declared !== undefined && declared !== target) {
      problems.unshift(`scheduler.json declares ${declared}, not ${target}; run \`npm run schedules -- --target ${target} --write\``);
    }
    if (problems.length) {
      io.err(`\nCheck failed (${path.relative(io.cwd, dir) || '.'}):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return 1;
    }
    io.out(`\nCheck passed: scheduler.json declares ${target} and vercel.json deploys on the Vercel ${info.vercelPlan} plan.\n`);
    return 0;
  }

  if (values.write) {
    const written: string[] = [];
    if (migration !== undefined) {
      const out = path.resolve(dir, values.out ?? path.join('supabase', 'migrations', `${migrationTimestamp(io.now)}_cronwarden_schedules.sql`));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, migration);
      written.push(out);
    }
    fs.writeFileSync(vercelFile, vercelText);
    written.push(vercelFile);
    const nextDeclaration = { ...(typeof declaration === 'object' && declaration ? declaration : {}), scheduler: target };
    fs.writeFileSync(declarationFile, `${JSON.stringify(nextDeclaration, null, 2)}\n`);
    written.push(declarationFile);
    io.out(`\nWrote:\n${written.map((w) => `  ${path.relative(io.cwd, w) || w}`).join('\n')}\n`);
    const previous = (declaration as { scheduler?: unknown } | null)?.scheduler;
    if (previous === 'supabase-cron' && target !== 'supabase-cron') {
      // pg_cron keeps firing what the database holds: both schedulers would run the jobs.
      io.out(
        `\nYour database still holds the Supabase Cron schedules, and pg_cron keeps firing them beside ${target}.\n` +
          'Remove them in a new migration (supabase migration new remove_cronwarden_schedules) holding:\n' +
          `  select cron.unschedule(jobid) from cron.job where jobname like '${PG_CRON_JOB_PREFIX}%';\n`,
      );
    }
    if (migration !== undefined) {
      io.out(
        `\nNext: store the secret once in Vault (select vault.create_secret('<CRON_SECRET>', '${VAULT_SECRET_NAME}');),\n` +
          'then apply the migration (supabase db push) and deploy vercel.json.\n',
      );
    }
    return 0;
  }

  io.out(`\n${migration ?? vercelText}`);
  return 0;
}
