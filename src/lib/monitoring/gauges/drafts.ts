import { draftSystemHealth } from '../drafts';
import type { FeatureGauge } from '../gauges';

/** Read through the drafts binding: absent while it is not bound. */
export const draftGauges: FeatureGauge[] = [
  {
    // A gauge: no `_total`, which Prometheus reserves for counters.
    name: 'cronwarden_drafts',
    help: 'Rows of the drafts table that are drafts',
    feature: 'drafts',
    async collect({ db, now }) {
      return [{ value: (await draftSystemHealth(db, now)).total_drafts }];
    },
  },
  {
    name: 'cronwarden_drafts_unused',
    help: 'Drafts never used (the drafts binding\'s unused condition; the demo app: generation never started)',
    feature: 'drafts',
    async collect({ db, now }) {
      return [{ value: (await draftSystemHealth(db, now)).unused_drafts }];
    },
  },
  {
    name: 'cronwarden_drafts_pollution_ratio',
    help: 'Unused drafts as a share (0..1) of all drafts; absent when there are no drafts',
    feature: 'drafts',
    async collect({ db, now }) {
      const h = await draftSystemHealth(db, now);
      return h.total_drafts > 0 ? [{ value: h.unused_drafts / h.total_drafts }] : [];
    },
  },
];
