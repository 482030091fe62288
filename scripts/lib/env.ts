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
