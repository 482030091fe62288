import type { ReactNode } from 'react';

export const metadata = { title: 'Cronwarden', description: 'Scheduled maintenance for the product database and storage' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', margin: 0, background: '#f6f7f9', color: '#1b1f24' }}>
        {children}
      </body>
    </html>
  );
}
