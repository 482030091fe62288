import type { FeatureGauge } from '../gauges';
import { deletionStats } from '../user-deletion-stats';

export const userGauges: FeatureGauge[] = [
  {
    name: 'cronwarden_user_deletion_error_ratio_last_hour',
    help: 'Failed user deletion attempts in the last hour, as a share (0..1) of all attempts; absent when there were none',
    async collect({ db, now }) {
      const s = await deletionStats(db, { minutes: 60, now });
      return s.total_deletions === 0 ? [] : [{ value: s.error_rate_percent / 100 }];
    },
  },
  {
    name: 'cronwarden_user_deletion_attempts_last_hour',
    help: 'User deletion attempts in the last hour, by outcome.',
    labelNames: ['outcome'],
    async collect({ db, now }) {
      const s = await deletionStats(db, { minutes: 60, now });
      return [
        { labels: { outcome: 'success' }, value: s.successful_deletions },
        { labels: { outcome: 'not_found' }, value: s.not_found },
        { labels: { outcome: 'timeout' }, value: s.timeouts },
        { labels: { outcome: 'conflict' }, value: s.conflicts },
        { labels: { outcome: 'db_error' }, value: s.db_errors },
      ];
    },
  },
  {
    name: 'cronwarden_user_deletion_p95_duration_seconds',
    help: 'p95 duration of user deletion attempts in the last hour, in seconds; absent when there were none',
    async collect({ db, now }) {
      const s = await deletionStats(db, { minutes: 60, now });
      return s.p95_duration_ms === null ? [] : [{ value: s.p95_duration_ms / 1000 }];
    },
  },
];
