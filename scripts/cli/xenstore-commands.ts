// `xenvfb xenstored` (the embedded server alone, dom0 on one socket) and `xenvfb xs ...`,
// a small xenstore-utils-like CLI on XsClient. Exit status 1 on any error, like
// xenstore-read & co; errors name the errno and what to do about it.

import type { Command } from 'commander';
import { XsClient, type Perm, parsePerms, xsErrno } from '../../shared/xenstore/client';
import { errorCode } from '../../shared/errors';
import { XenstoredServer } from '../../shared/xenstore/server/socket-server';
import { xenstoredSocketPath } from '../../shared/xenstore/transports';

const HINTS: Record<string, string> = {
  ENOENT: 'the node (or its parent) does not exist; check the path with `xenvfb xs ls`',
  EACCES: 'permission denied; check the node perms with `xenvfb xs ls -p`',
  EINVAL: 'invalid path or argument; paths use [A-Za-z0-9-/_@] with no // or trailing /',
  ENOSPC: 'a xenstore quota was reached (see `xenstore-control quota`)',
  E2BIG: 'too large for one xenstore message',
  EEXIST: 'already exists',
  XS_E_BAD_PERMS: 'perms are <n|r|w|b><domid>, the first naming the owner',
  XS_E_CLOSED: 'is xenstored running? set XENSTORED_PATH or pass --socket',
};

function fail(e: unknown): never {
  const code = xsErrno(e) ?? errorCode(e) ?? 'ERROR';
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`xenvfb xs: ${code}: ${msg}${HINTS[code] ? ` (${HINTS[code]})` : ''}\n`);
  process.exit(1);
}

async function withClient(opts: { socket?: string }, fn: (xs: XsClient) => Promise<void>): Promise<void> {
  let xs: XsClient | undefined;
  try {
    xs = await XsClient.connect(opts.socket ? { path: opts.socket } : {});
    await fn(xs);
  } catch (e) {
    fail(e);
  } finally {
    xs?.close();
  }
}

const permString = (perms: Perm[]): string =>
  perms.map((p) => `${p.read ? (p.write ? 'b' : 'r') : p.write ? 'w' : 'n'}${p.domid}`).join(', ');

/** xenstore-ls output: `name = "value"` indented, or `-f` full paths; `-p` adds `  (perms)`. */
async function listTree(xs: XsClient, path: string, depth: number, o: { full?: boolean; perms?: boolean }, out: string[]): Promise<void> {
  for (const name of await xs.directory(path)) {
    const child = path === '/' ? `/${name}` : `${path}/${name}`;
    const value = (await xs.tryRead(child)) ?? '';
    const label = o.full ? child : `${' '.repeat(depth)}${name}`;
    const perms = o.perms ? `  (${permString(await xs.getPerms(child))})` : '';
    out.push(`${label} = ${JSON.stringify(value)}${perms}`);
    await listTree(xs, child, depth + 1, o, out);
  }
}

export function registerXenstoreCommands(program: Command): void {
  program
    .command('xenstored')
    .description('run the embedded xenstored alone: privileged dom0 on one unix socket')
    .requiredOption('--socket <path>', 'socket to listen on')
    .action(async (o: { socket: string }) => {
      const server = new XenstoredServer({ log: (line) => process.stderr.write(`xenstored: ${line}\n`) });
      await server.listen(o.socket, { domid: 0, privileged: true });
      process.stdout.write(`${o.socket}\n`);
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const xs = program
    .command('xs')
    .description('xenstore-utils-like client (XENSTORED_PATH or --socket)')
    .option('--socket <path>', `xenstored socket (default ${xenstoredSocketPath()})`);
  const sock = (): { socket?: string } => xs.opts<{ socket?: string }>();

  xs.command('read <path...>').action((paths: string[]) =>
    withClient(sock(), async (c) => {
      for (const p of paths) process.stdout.write(`${await c.read(p)}\n`);
    }),
  );
  xs.command('write <path> <value> [more...]')
    .description('write PATH VALUE [PATH VALUE]...')
    .action((p: string, v: string, more: string[]) =>
      withClient(sock(), async (c) => {
        if (more.length % 2) throw new Error('write needs PATH VALUE pairs');
        const pairs = [[p, v], ...Array.from({ length: more.length / 2 }, (_, i) => [more[2 * i]!, more[2 * i + 1]!])];
        for (const [k, val] of pairs) await c.write(k!, val!);
      }),
    );
  xs.command('rm <path...>').action((paths: string[]) =>
    withClient(sock(), async (c) => void (await Promise.all(paths.map((p) => c.rm(p))))),
  );
  xs.command('mkdir <path...>').action((paths: string[]) =>
    withClient(sock(), async (c) => void (await Promise.all(paths.map((p) => c.mkdir(p))))),
  );
  xs.command('exists <path>').action((p: string) =>
    withClient(sock(), async (c) => {
      if ((await c.tryRead(p)) === undefined) process.exit(1);
    }),
  );
  xs.command('chmod <path> <perm...>')
    .description('set perms, e.g. chmod /local/domain/1 n1 r0')
    .action((p: string, perms: string[]) =>
      withClient(sock(), async (c) => {
        await c.setPerms(p, parsePerms(perms));
      }),
    );
  xs.command('ls [path]')
    .option('-f', 'full paths')
    .option('-p', 'show permissions')
    .action((p: string | undefined, o: { f?: boolean; p?: boolean }) =>
      withClient(sock(), async (c) => {
        const out: string[] = [];
        await listTree(c, p ?? '/', 0, { full: o.f, perms: o.p }, out);
        process.stdout.write(out.map((l) => `${l}\n`).join(''));
      }),
    );
  xs.command('watch <path>')
    .option('-n <count>', 'exit after this many events', (v) => Number(v))
    .action((p: string, o: { n?: number }) =>
      withClient(sock(), async (c) => {
        let seen = 0;
        for await (const ev of await c.watch(p, 'xs')) {
          process.stdout.write(`${ev.path}\n`);
          if (o.n !== undefined && ++seen >= o.n) break;
        }
      }),
    );
}
