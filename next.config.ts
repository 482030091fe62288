import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // PGlite loads its WASM and data files from node_modules at run time; bundling it only slows
  // the build and doubles .next (measured: 26 MB vs 49 MB).
  serverExternalPackages: ['@electric-sql/pglite', '@electric-sql/pglite-socket', 'pino', 'postgres', 'ioredis', 'nodemailer', 'undici'],
  poweredByHeader: false,
};

export default nextConfig;
