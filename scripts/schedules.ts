/**
 * `npm run schedules` / `npx tsx scripts/schedules.ts`: prints, checks and writes the job
 * schedules for Vercel Pro, Vercel Hobby, Supabase Cron or the local scheduler (--help).
 */
import { runSchedulesCommand } from './lib/schedules-command';

process.exitCode = runSchedulesCommand(process.argv.slice(2), {
  cwd: process.cwd(),
  now: new Date(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
