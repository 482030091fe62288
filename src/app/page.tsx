import Link from 'next/link';

export default function Home() {
  return (
    <main style={{ maxWidth: 720, margin: '4rem auto', padding: '0 1rem' }}>
      <h1>Cronwarden</h1>
      <p>Scheduled cleanup, retention and monitoring jobs for this product.</p>
      <ul>
        <li>
          <Link href="/admin">Admin</Link>: job health, run now, charts
        </li>
        <li>
          <a href="/api/health">/api/health</a>: liveness and database status
        </li>
      </ul>
    </main>
  );
}
