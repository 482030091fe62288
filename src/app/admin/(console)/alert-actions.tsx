'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import styles from '../admin.module.css';

const DURATIONS: [number, string][] = [
  [60, '1 h'],
  [240, '4 h'],
  [1440, '24 h'],
  [10_080, '7 days'],
];

async function errorOf(res: Response): Promise<string> {
  if (res.status === 401) return 'Your session has ended: sign in again.';
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `HTTP ${res.status}`;
}

/** "Silence" for one alert (rule + subject): POST /api/admin/alerts/silences, then refresh. */
export function SilenceControl({ ruleId, subject }: { ruleId: string; subject: string }) {
  const router = useRouter();
  const [minutes, setMinutes] = useState(240);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function silence() {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/admin/alerts/silences', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rule_id: ruleId, subject, minutes, reason: 'Silenced from the admin page' }),
      });
      if (!res.ok) setError(await errorOf(res));
      else router.refresh();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className={styles.silenceForm}>
      <select aria-label="Silence for" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} disabled={busy}>
        {DURATIONS.map(([m, label]) => (
          <option key={m} value={m}>
            {label}
          </option>
        ))}
      </select>
      <button className={styles.buttonSecondary} onClick={silence} disabled={busy} data-action="silence">
        Silence
      </button>
      {error && <span className={styles.errorText}>{error}</span>}
    </div>
  );
}

/** Ends a silence now: DELETE /api/admin/alerts/silences/<id>. */
export function EndSilenceButton({ id }: { id: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function end() {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(`/api/admin/alerts/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
      if (!res.ok) setError(await errorOf(res));
      else router.refresh();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button className={styles.buttonSecondary} onClick={end} disabled={busy} data-action="end-silence">
        End silence
      </button>
      {error && <span className={styles.errorText}> {error}</span>}
    </>
  );
}
