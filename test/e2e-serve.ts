// The static build for the end-to-end tests: `vite build` into a temporary folder, served by a
// plain static file server under a sub-path (as a static host would: GitHub Pages serves a
// project at /<repo>/), so a test sees every URL the built page loads resolve relatively.
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { ROOT, type PageServer } from '../bench/browser.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Builds the page and serves dist/ at http://127.0.0.1:<port><subPath>. */
export async function serveBuilt(subPath = '/some/sub/path/'): Promise<PageServer & { requests: string[] }> {
  const outDir = await mkdtemp(join(tmpdir(), 'dwdp-dist-'));
  const { build } = await import('vite');
  await build({
    root: ROOT,
    configFile: `${ROOT}/vite.config.ts`,
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (!path.startsWith(subPath)) {
      res.writeHead(404).end(`not under ${subPath}`);
      return;
    }
    let file = normalize(join(outDir, path.slice(subPath.length)));
    if (!file.startsWith(outDir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the static server did not report its port');
  return {
    url: `http://127.0.0.1:${address.port}${subPath}`,
    requests,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}
