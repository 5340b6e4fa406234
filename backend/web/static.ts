// Which file a web request names, and its MIME type: a pure function over URL paths so the
// traversal rules are tested without a server. Only files under a mount's root are served.

import * as path from 'node:path';

/** MIME types of what the noVNC page loads; anything else is not served. */
export const WEB_MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  // ES modules must come with a JavaScript MIME type or the browser refuses them.
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
};
/** Longest URL path considered at all. */
export const WEB_MAX_PATH = 1024;

/** A URL prefix ("/core/") served from a directory, or one exact path served from one file. */
export type Mount = { prefix: string; dir: string } | { path: string; file: string };

export type StaticResult = { file: string; mime: string } | { status: 400 | 404 };

/**
 * The file for a request path (no query). Percent-escapes are decoded once; NUL, backslashes
 * and any path that resolves outside the mount's directory are refused.
 */
export function resolveStatic(urlPath: string, mounts: readonly Mount[]): StaticResult {
  if (urlPath.length > WEB_MAX_PATH || !urlPath.startsWith('/')) return { status: 400 };
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { status: 400 };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { status: 400 };
  for (const m of mounts) {
    let file: string | undefined;
    if ('path' in m) {
      if (decoded === m.path) file = m.file;
    } else if (decoded.startsWith(m.prefix)) {
      const root = path.resolve(m.dir);
      const candidate = path.resolve(root, `.${path.posix.sep}${decoded.slice(m.prefix.length)}`);
      if (!candidate.startsWith(root + path.sep)) return { status: 404 };
      file = candidate;
    }
    if (file === undefined) continue;
    const mime = WEB_MIME_TYPES[path.extname(file).toLowerCase()];
    return mime ? { file, mime } : { status: 404 };
  }
  return { status: 404 };
}
