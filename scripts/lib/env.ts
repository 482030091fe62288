import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Loads ./.env (if any) into process.env without overriding what the shell already set. */
export function loadDotEnv(file = '.env'): void {
  if (fs.existsSync(file)) process.loadEnvFile(file);
}

/**
 * Self-hosted default: when CRON_SECRET is unset, use (and keep) a random one under DATA_DIR,
 * so the local scheduler and the app agree and the routes are never open.
 */
export function ensureLocalCronSecret(dataDir = process.env.DATA_DIR || '.data'): { file: string; created: boolean } | null {
  if (process.env.CRON_SECRET) return null;
  const file = path.resolve(dataDir, 'cron-secret');
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
    created = true;
  }
  process.env.CRON_SECRET = fs.readFileSync(file, 'utf8').trim();
  return { file, created };
}

/**
 * Self-hosted default for the admin page: when ADMIN_PASSWORD is unset, generate one and keep it
 * in DATA_DIR/admin-password (mode 0600), so `npm start` never serves an admin area without a
 * password and the password survives restarts. Callers print the file's path, never its content.
 */
export function ensureLocalAdminPassword(dataDir = process.env.DATA_DIR || '.data'): { file: string; created: boolean } | null {
  if (process.env.ADMIN_PASSWORD) return null;
  const file = path.resolve(dataDir, 'admin-password');
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    created = true;
  }
  const password = fs.readFileSync(file, 'utf8').trim();
  if (password.length < 8) {
    throw new Error(`${file} holds a password shorter than 8 characters; delete the file to get a new one, or set ADMIN_PASSWORD.`);
  }
  process.env.ADMIN_PASSWORD = password;
  return { file, created };
}

/**
 * Self-hosted default for scripts and curl: when ADMIN_API_TOKEN is unset, generate one and keep
 * it in DATA_DIR/admin-api-token (mode 0600), so the README's /api/admin/* and DELETE /api/users
 * examples work after `npm start`. Callers print the file's path, never its content.
 */
export function ensureLocalAdminApiToken(dataDir = process.env.DATA_DIR || '.data'): { file: string; created: boolean } | null {
  if (process.env.ADMIN_API_TOKEN) return null;
  const file = path.resolve(dataDir, 'admin-api-token');
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    created = true;
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (token.length < 16) {
    throw new Error(`${file} holds a token shorter than 16 characters; delete the file to get a new one, or set ADMIN_API_TOKEN.`);
  }
  process.env.ADMIN_API_TOKEN = token;
  return { file, created };
}

/** Where `npm start` says the app it runs listens: DATA_DIR/app.json ({ url, pid }). */
export function runningAppFile(dataDir = process.env.DATA_DIR || '.data'): string {
  return path.resolve(dataDir, 'app.json');
}

/** Records the app's URL for the tools (monitors find it without PORT/APP_URL); removed at exit. */
export function publishRunningApp(url: string, dataDir = process.env.DATA_DIR || '.data'): void {
  const file = runningAppFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ url, pid: process.pid })}\n`);
  process.once('exit', () => {
    try {
      if (JSON.parse(fs.readFileSync(file, 'utf8')).pid === process.pid) fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  });
}

/** The URL of the app `npm start` runs on this data dir, when that process is alive. */
export function runningAppUrl(dataDir = process.env.DATA_DIR || '.data'): string | undefined {
  try {
    const { url, pid } = JSON.parse(fs.readFileSync(runningAppFile(dataDir), 'utf8')) as { url?: unknown; pid?: unknown };
    if (typeof url !== 'string' || typeof pid !== 'number' || !/^https?:\/\//.test(url)) return undefined;
    process.kill(pid, 0);
    return url.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}
