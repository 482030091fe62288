import { describeResult, type ResultItem } from '@/lib/admin/result-view';
import styles from '../admin.module.css';

function Item({ item }: { item: ResultItem }) {
  if (item.kind === 'group') {
    return (
      <div className={styles.resultGroup} data-result-key={item.key}>
        <dt>{item.label}</dt>
        <dd>
          <dl className={styles.resultFields}>
            {item.items.map((i) => (
              <Item key={i.key} item={i} />
            ))}
          </dl>
        </dd>
      </div>
    );
  }
  if (item.kind === 'list') {
    return (
      <div data-result-key={item.key}>
        <dt>{item.label}</dt>
        <dd>
          <details className={styles.fold}>
            <summary>{item.summary}</summary>
            <ul className={styles.foldList}>
              {item.entries.map((e, i) => (
                <li key={i} className={styles.mono}>
                  {e}
                </li>
              ))}
            </ul>
          </details>
        </dd>
      </div>
    );
  }
  return (
    <div data-result-key={item.key}>
      <dt>{item.label}</dt>
      <dd title={item.title}>{item.text}</dd>
    </div>
  );
}

/**
 * A run's result as a person reads it, with the raw JSON one click away. No state and no hooks,
 * so both the server pages and the client "Run now" box render it.
 */
export function ResultView({ result, rawLabel = 'Raw JSON' }: { result: Record<string, unknown>; rawLabel?: string }) {
  const items = describeResult(result);
  return (
    <div className={styles.resultView} data-testid="result-view">
      {items.length === 0 ? (
        <p className={styles.unavailable}>No counts reported.</p>
      ) : (
        <dl className={styles.resultFields}>
          {items.map((i) => (
            <Item key={i.key} item={i} />
          ))}
        </dl>
      )}
      <details className={styles.raw} data-testid="raw-json">
        <summary>{rawLabel}</summary>
        <pre className={styles.pre} data-testid="run-result-json">
          {JSON.stringify(result, null, 2)}
        </pre>
      </details>
    </div>
  );
}
