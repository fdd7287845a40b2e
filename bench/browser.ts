// Headless Chromium for the benchmark page: find a browser (never download one), pick WebGPU
// flags for the machine (SwiftShader without a GPU, Vulkan with one), serve the page with
// Vite, and open it. Shared by bench/run.ts and the end-to-end test.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Something the machine lacks, with what to install; bench/run.ts exits non-zero with the message. */
export class MissingPrerequisite extends Error {
  override name = 'MissingPrerequisite';
}

const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export interface FoundBrowser {
  path: string;
  /** Where the path came from, for messages. */
  from: string;
}

/** CHROME_PATH / PUPPETEER_EXECUTABLE_PATH, else puppeteer's own download if present, else a system Chromium. */
export async function findBrowser(): Promise<FoundBrowser | null> {
  for (const env of ['CHROME_PATH', 'PUPPETEER_EXECUTABLE_PATH']) {
    const p = process.env[env];
    if (p) {
      if (!existsSync(p))
        throw new MissingPrerequisite(
          `${env}=${p} does not exist: point it at a Chromium or Chrome binary (Debian/Ubuntu: apt-get install -y chromium)`,
        );
      return { path: p, from: env };
    }
  }
  try {
    const puppeteer = (await import('puppeteer')).default;
    const own = puppeteer.executablePath();
    if (own && existsSync(own)) return { path: own, from: "puppeteer's download" };
  } catch {
    /* no puppeteer-managed browser */
  }
  for (const p of SYSTEM_BROWSERS) if (existsSync(p)) return { path: p, from: 'system' };
  return null;
}

export const INSTALL_BROWSER =
  'no Chromium or Chrome found. Install one (Debian/Ubuntu: apt-get install -y chromium) or set CHROME_PATH to a Chromium/Chrome binary.';

/** A GPU the browser's Vulkan backend could use (device nodes, not driver files); DWDP_VULKAN=system|swiftshader decides. */
export function hasGpuHardware(): boolean {
  const forced = process.env.DWDP_VULKAN;
  if (forced === 'system') return true;
  if (forced === 'swiftshader') return false;
  if (existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

const COMMON_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

/** WebGPU flags: SwiftShader (CPU Vulkan) without a GPU, the hardware Vulkan backend with one. */
export function chromiumFlags(gpu = hasGpuHardware()): string[] {
  return gpu
    ? [
        ...COMMON_FLAGS,
        '--enable-features=Vulkan',
        '--use-angle=vulkan',
        '--disable-vulkan-surface',
        '--ignore-gpu-blocklist',
      ]
    : [...COMMON_FLAGS, '--use-webgpu-adapter=swiftshader'];
}

export interface Launched {
  browser: Browser;
  found: FoundBrowser;
  flags: string[];
}

/**
 * Starts the browser. handleSignals: false leaves SIGINT/SIGTERM/SIGHUP to the caller, which
 * must then close the browser on every way out (bench/run.ts does, with closeBrowser).
 */
export async function launchBrowser(opts: { headless?: boolean; handleSignals?: boolean } = {}): Promise<Launched> {
  process.env.PUPPETEER_SKIP_DOWNLOAD ??= '1';
  const found = await findBrowser();
  if (!found) throw new MissingPrerequisite(INSTALL_BROWSER);
  const puppeteer = (await import('puppeteer')).default;
  const flags = chromiumFlags();
  try {
    const browser = await puppeteer.launch({
      executablePath: found.path,
      headless: opts.headless ?? true,
      args: flags,
      protocolTimeout: 600_000,
      handleSIGINT: opts.handleSignals ?? true,
      handleSIGTERM: opts.handleSignals ?? true,
      handleSIGHUP: opts.handleSignals ?? true,
    });
    return { browser, found, flags };
  } catch (e) {
    throw new MissingPrerequisite(
      `could not start ${found.path} (${found.from}): ${(e as Error).message.split('\n')[0]}. ` +
        'Install Chromium (apt-get install -y chromium) or set CHROME_PATH.',
    );
  }
}

/** Closes the browser; one that does not answer within `ms` is killed, so no Chromium outlives us. */
export async function closeBrowser(browser: Browser, ms = 5000): Promise<void> {
  const proc = browser.process();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const closed = await Promise.race([
    browser.close().then(
      () => 'closed' as const,
      () => 'failed' as const,
    ),
    timeout,
  ]);
  clearTimeout(timer);
  if (closed !== 'closed' && proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Vite's dev server on a free port (the page, its worker and the shaders, as in `vite`),
 * without file watching or HMR: an edit anywhere in the tree must not reload the page in
 * the middle of a run.
 */
export async function servePage(): Promise<PageServer> {
  // Vite's dev server exits the process on SIGTERM and when stdin ends, before the caller can
  // close the browser or say what was written: the caller owns those, so its listeners go.
  const sigterm = new Set(process.listeners('SIGTERM'));
  const stdinEnd = new Set(process.stdin.listeners('end'));
  const { createServer } = await import('vite');
  const server = await createServer({
    root: ROOT,
    configFile: `${ROOT}/vite.config.ts`,
    logLevel: 'error',
    clearScreen: false,
    server: { port: 0, strictPort: false, host: '127.0.0.1', hmr: false, watch: null },
  });
  await server.listen();
  for (const l of process.listeners('SIGTERM')) if (!sigterm.has(l)) process.off('SIGTERM', l);
  for (const l of process.stdin.listeners('end')) if (!stdinEnd.has(l)) process.stdin.off('end', l as () => void);
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not report its port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

export interface ConsoleLog {
  errors: string[];
}

/** Open the page, collect console errors and page errors, and wait for its API (and the WebGPU probe). */
export async function openPage(
  browser: Browser,
  url: string,
  log: ConsoleLog = { errors: [] },
): Promise<{ page: Page; log: ConsoleLog }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000, deviceScaleFactor: 1 });
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => log.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
  await page.waitForFunction(() => typeof window.dwdp === 'object', { timeout: 120_000 });
  await page.evaluate(() => window.dwdp.ready);
  return { page, log };
}
