import { formatBytes, formatCount, formatDuration, formatUtc } from './format';

/**
 * A run's result as a person reads it: labels in words, counts with separators, bytes in KB/MB/GB,
 * durations in ms/s/min, ratios as %, times in UTC, lists of ids folded to their count. The raw
 * JSON stays one click away on the page; this only decides what each field looks like.
 */

export type ResultItem =
  | { kind: 'value'; key: string; label: string; text: string; title?: string }
  | { kind: 'list'; key: string; label: string; summary: string; entries: string[]; more: boolean }
  | { kind: 'group'; key: string; label: string; items: ResultItem[] };

/** Shown elsewhere on the page (status, badges, duration, errors table) or bookkeeping. */
const SHOWN_ELSEWHERE = new Set(['errors', 'run_id', 'job', 'status', 'dry_run', 'timestamp', 'duration_ms', 'rerun_of']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const MAX_LIST = 200;
const MAX_DEPTH = 2;

const WORDS: Record<string, string> = { ids: 'IDs', id: 'ID', ms: 'ms', p95: 'p95', p50: 'p50', json: 'JSON', url: 'URL', tz: 'TZ' };

/** "deleted_count" → "Deleted", "tempUploadBytesFreed" → "Temp upload bytes freed", "stuckRunIds" → "Stuck run IDs". */
export function labelOf(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[_\s]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  if (words.length > 1 && words[words.length - 1] === 'count') words.pop();
  const text = words.map((w) => WORDS[w] ?? w).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const isBytesKey = (key: string) => /bytes/i.test(key);
const isMsKey = (key: string) => /(_ms|Ms)$/.test(key);
const isRateKey = (key: string) => /(_rate|Rate)$/.test(key);
const isIdsKey = (key: string) => /(_ids|Ids|^ids)$/.test(key);

function primitiveText(key: string, v: unknown): { text: string; title?: string } {
  if (v === null || v === undefined) return { text: '—' };
  if (typeof v === 'boolean') return { text: v ? 'yes' : 'no' };
  if (typeof v === 'number') {
    if (isBytesKey(key)) return { text: formatBytes(v), title: `${formatCount(v)} bytes` };
    if (isMsKey(key)) return { text: formatDuration(v), title: `${formatCount(v)} ms` };
    if (isRateKey(key) && v >= 0 && v <= 1) return { text: `${(v * 100).toFixed(v === 0 || v === 1 ? 0 : 1)}%`, title: String(v) };
    return { text: formatCount(v) };
  }
  if (typeof v === 'string') {
    if (ISO_TIME.test(v)) return { text: formatUtc(v), title: v };
    return { text: v };
  }
  return { text: JSON.stringify(v) };
}

function entryText(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${k}: ${x !== null && typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join(' · ');
}

function describeEntries(obj: Record<string, unknown>, depth: number): ResultItem[] {
  const items: ResultItem[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (depth === 0 && SHOWN_ELSEWHERE.has(key)) continue;
    // "<ids>_truncated" travels with its list.
    if (key.endsWith('_truncated') && Array.isArray(obj[key.slice(0, -'_truncated'.length)])) continue;
    const label = labelOf(key);
    if (Array.isArray(v)) {
      const more = obj[`${key}_truncated`] === true || v.length > MAX_LIST;
      const entries = v.slice(0, MAX_LIST).map(entryText);
      const noun = isIdsKey(key) ? (v.length === 1 ? 'id' : 'ids') : v.length === 1 ? 'item' : 'items';
      if (v.length === 0) items.push({ kind: 'value', key, label, text: 'none' });
      else if (!isIdsKey(key) && v.length <= 3 && v.every((x) => x === null || typeof x !== 'object')) {
        items.push({ kind: 'value', key, label, text: v.map(String).join(', ') });
      } else {
        items.push({ kind: 'list', key, label, summary: `${formatCount(v.length)} ${noun}${more ? ' listed (more not listed)' : ''}`, entries, more });
      }
      continue;
    }
    if (v !== null && typeof v === 'object') {
      const inner = v as Record<string, unknown>;
      if (depth + 1 >= MAX_DEPTH) items.push({ kind: 'value', key, label, text: entryText(inner) || '—' });
      else {
        const nested = describeEntries(inner, depth + 1);
        items.push(nested.length === 0 ? { kind: 'value', key, label, text: '—' } : { kind: 'group', key, label, items: nested });
      }
      continue;
    }
    items.push({ kind: 'value', key, label, ...primitiveText(key, v) });
  }
  return items;
}

/** The result's fields in their recorded order, as display items; [] for no result. */
export function describeResult(result: Record<string, unknown> | null | undefined): ResultItem[] {
  if (!result || typeof result !== 'object') return [];
  return describeEntries(result, 0);
}
