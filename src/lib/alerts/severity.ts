import { SEVERITIES, type Severity } from './types';

/** LOW 0 … CRITICAL 3. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function atLeast(s: Severity, min: Severity): boolean {
  return severityRank(s) >= severityRank(min);
}

export const SEVERITY_EMOJI: Record<Severity, string> = {
  CRITICAL: ':rotating_light:',
  HIGH: ':red_circle:',
  MEDIUM: ':large_orange_circle:',
  LOW: ':large_blue_circle:',
};
