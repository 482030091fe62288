import fs from 'node:fs';
import path from 'node:path';

export interface RouteInfo {
  /** e.g. /api/users/[userId] */
  template: string;
  methods: string[];
  file: string;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Every App Router route handler under src/app/api, with the methods it exports. */
export function discoverApiRoutes(root = path.join('src', 'app', 'api')): RouteInfo[] {
  const out: RouteInfo[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'route.ts') {
        const src = fs.readFileSync(full, 'utf8');
        const methods = METHODS.filter((m) =>
          new RegExp(`export\\s+(async\\s+)?(function|const)\\s+${m}\\b|export\\s+const\\s+\\{[^}]*\\b${m}\\b[^}]*\\}|export\\s+\\{[^}]*\\b${m}\\b[^}]*\\}`).test(src),
        );
        const rel = path.relative(path.join('src', 'app'), path.dirname(full)).split(path.sep).join('/');
        out.push({ template: `/${rel}`, methods, file: full });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => a.template.localeCompare(b.template));
}

/** The template with each [param] replaced by `value` (URL-encoded). */
export function fill(template: string, value: string): string {
  return template.replace(/\[[^\]]+\]/g, encodeURIComponent(value));
}
