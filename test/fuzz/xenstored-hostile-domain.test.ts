// Hostile guest domains against our xenstored over real unix sockets, the server in a child
// process so its RSS can be read from /proc. Each test reproduces an attack from issue 15
// (items 6-8) and prints the server's RSS growth; the bounds follow C xenstored's quotas
// (docs/xenstore.md, "Quotas").

import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { XsClient } from '../../shared/xenstore/client';
import { XsParser, XsType, encodeMessage, parseStrings, stringsPayload } from '../../shared/xenstore/wire';

const FIXTURE = path.join(__dirname, 'fixtures', 'xenstored-domains.ts');
const MiB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

async function startServer(dir: string, domids: number[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...(process.env.XS_FLOOD_DEBUG ? ['--expose-gc'] : []), '-r', 'ts-node/register/transpile-only', FIXTURE, dir, ...domids.map(String)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`xenstored fixture exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
  });
  return child;
}

/** A raw connection that sends requests and counts (or ignores) what comes back. */
class Raw {
  readonly replies: Array<{ type: number; payload: Buffer }> = [];
  events = 0;
  private readonly parser = new XsParser();
  private reqId = 1;

  private constructor(readonly socket: net.Socket) {}

  static connect(p: string, read: boolean): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path: p });
      s.once('error', reject);
      s.once('connect', () => {
        const raw = new Raw(s);
        if (read) {
          s.on('data', (d) => {
            for (const m of raw.parser.push(d)) {
              if (m.type === XsType.XS_WATCH_EVENT) raw.events++;
              else raw.replies.push(m);
            }
          });
        } else {
          s.pause(); // never reads: the server's output to it piles up
        }
        resolve(raw);
      });
    });
  }

  send(type: number, payload: Buffer, txId = 0): void {
    this.socket.write(encodeMessage({ type, reqId: this.reqId++, txId, payload }));
  }

  async waitReplies(n: number, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${this.replies.length} of ${n} replies`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  errors(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.replies) {
      const k = r.type === XsType.XS_ERROR ? parseStrings(r.payload)[0]! : 'OK';
      out.set(k, (out.get(k) ?? 0) + 1);
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('xenstored under a hostile domain (issue 15 items 6-8)', function () {
  this.timeout(120000);
  let dir: string;
  let child: ChildProcess;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-xs-hostile-'));
    child = await startServer(dir, [1, 2]);
  });
  after(() => {
    child?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('watch events for connections that never read stay bounded (2 conns x 128 watches, 20,000 writes)', async () => {
    const WRITES = Number(process.env.XS_FLOOD_WRITES ?? 20000);
    const watchers = [await Raw.connect(path.join(dir, 'dom1'), false), await Raw.connect(path.join(dir, 'dom1'), false)];
    for (const w of watchers) for (let i = 0; i < 128; i++) w.send(XsType.XS_WATCH, stringsPayload('/local/domain/1', `tok${i}`));
    const dom0 = await XsClient.connect({ path: path.join(dir, 'dom0'), timeoutMs: 60000 });
    await dom0.read('/local/domain/1'); // the watches are registered once this round trip is back
    const before = rssOf(child.pid!);
    const t0 = Date.now();
    for (let i = 0; i < WRITES; i += 200) {
      const batch: Array<Promise<void>> = [];
      for (let j = i; j < i + 200; j++) batch.push(dom0.write(`/local/domain/1/k${j % 2000}`, String(j)));
      await Promise.all(batch);
    }
    const grown = rssOf(child.pid!) - before;
    if (process.env.XS_FLOOD_DEBUG) child.kill('SIGUSR2');
    console.log(
      `      server RSS +${(grown / MiB).toFixed(1)} MiB after ${WRITES} writes fanned out to 256 unread watches ` +
        `(${Date.now() - t0} ms; before the fix: +1 GB)`,
    );
    for (const w of watchers) w.close();
    dom0.close();
    // The queue is capped by the memory quota (2.5 MiB); the rest is the V8 heap's churn.
    assert.ok(grown < 100 * MiB, `server RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
  });

  it('transaction-nodes: 50,000 reads of distinct missing paths in one transaction stop at the quota', async () => {
    const READS = 50000;
    const c = await Raw.connect(path.join(dir, 'dom2'), true);
    c.send(XsType.XS_TRANSACTION_START, stringsPayload(''));
    await c.waitReplies(1);
    const txId = Number(parseStrings(c.replies[0]!.payload)[0]);
    const before = rssOf(child.pid!);
    for (let i = 0; i < READS; i++) c.send(XsType.XS_READ, stringsPayload(`/local/domain/2/missing/${i}`), txId);
    await c.waitReplies(1 + READS, 60000);
    const grown = rssOf(child.pid!) - before;
    c.send(XsType.XS_TRANSACTION_END, stringsPayload('T'), txId);
    await c.waitReplies(2 + READS);
    const errs = c.errors();
    const commit = c.replies[c.replies.length - 1]!;
    console.log(
      `      server RSS +${(grown / MiB).toFixed(1)} MiB; replies ${JSON.stringify([...errs])}; ` +
        `commit ${parseStrings(commit.payload)[0]} (before the fix: +107 MB, no ENOSPC)`,
    );
    c.close();
    // Each read also accesses the missing parent and /local/domain/2 (C's errno_from_parents),
    // so the 1024 accessed nodes are reached after 1022 reads.
    assert.equal(errs.get('ENOENT'), 1022, 'reads until transaction-nodes (1024) accessed nodes see ENOENT');
    assert.equal(errs.get('ENOSPC'), READS - 1022);
    assert.equal(commit.type, XsType.XS_ERROR, 'a transaction that hit the quota cannot commit');
    assert.ok(grown < 16 * MiB, `server RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
  });
});
