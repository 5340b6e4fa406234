// The latency guest of bench:latency (a process on the simulator): our vfb/vkbd frontends,
// as `xenvfb guest` runs them, with a workload of its own that changes the screen FPS times
// a second, stamps the frame number into the top-left corner (stamp.ts) and prints
// "SEQ NS" on stdout right after marking the damage: NS is CLOCK_MONOTONIC
// (process.hrtime), the clock latency-client.c reads on the same host.
//
//   node -r ts-node/register/transpile-only guest.ts --sim-dir D --domid N --scenario typing

import { Command, Option } from 'commander';
import { openPlatform } from '../../cli/platform';
import { VfbFrontend } from '../../../frontend/vfb-frontend';
import { VkbdFrontend } from '../../../frontend/vkbd-frontend';
import { XenbusFrontendDevice } from '../../../frontend/xenbus-frontend';
import { guestPagesFor } from '../../../frontend/guest-pages';
import { fillRect, scrollUp, type Surface } from '../../../frontend/workloads/canvas';
import type { FramebufferTarget } from '../../../frontend/workloads/workload';
import type { Rect } from '../../../shared/region';
import { createLogger } from '../../../shared/log';
import { drawStamp, STAMP_RECT } from './stamp';

export const SCENARIOS = ['typing', 'scroll', 'video'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** A text cell: the size of the demo terminal's glyphs. */
const CELL = { width: 8, height: 16 };
/** The video scenario's moving picture. */
const VIDEO = { width: 640, height: 360 };

/** A little xorshift32 so every run draws the same frames. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** One frame of a scenario: change the screen, return what changed. */
export function drawScenario(fb: Surface, scenario: Scenario, seq: number, rand: () => number): Rect {
  const top = STAMP_RECT.height;
  if (scenario === 'typing') {
    const cols = Math.floor(fb.width / CELL.width);
    const rows = Math.floor((fb.height - top) / CELL.height);
    const i = seq % (cols * rows);
    const cell = { x: (i % cols) * CELL.width, y: top + Math.floor(i / cols) * CELL.height, ...CELL };
    fillRect(fb, cell, 0xffffff);
    // A glyph-like blob: a few dark strokes in the cell.
    for (let k = 0; k < 6; k++) {
      const r = rand();
      fillRect(
        fb,
        { x: cell.x + 1 + (r & 3), y: cell.y + 2 + ((r >>> 2) % 12), width: 1 + ((r >>> 6) & 3), height: 1 + ((r >>> 8) & 3) },
        0x202020,
      );
    }
    return cell;
  }
  if (scenario === 'scroll') {
    const area = { x: 0, y: top, width: fb.width, height: fb.height - top };
    scrollUp(fb, area, CELL.height);
    const line = { x: 0, y: fb.height - CELL.height, width: fb.width, height: CELL.height };
    fillRect(fb, line, 0xffffff);
    for (let x = 8; x < fb.width - 16; x += 9) {
      if (rand() & 1) fillRect(fb, { x, y: line.y + 3, width: 6, height: 10 }, 0x303030);
    }
    return area;
  }
  const v = { x: Math.max(0, (fb.width - VIDEO.width) >> 1), y: Math.max(top, (fb.height - VIDEO.height) >> 1), ...VIDEO };
  for (let y = v.y; y < v.y + v.height && y < fb.height; y++) {
    for (let x = v.x; x < v.x + v.width && x < fb.width; x++) {
      const o = y * fb.stride + x * 4;
      const r = rand();
      fb.data[o] = r & 0xff;
      fb.data[o + 1] = (r >>> 8) & 0xff;
      fb.data[o + 2] = (r >>> 16) & 0xff;
    }
  }
  return v;
}

async function run(opts: {
  simDir: string;
  domid: number;
  scenario: Scenario;
  fps: number;
  size: string;
  dirtyTiles: boolean;
  switchOnMark: boolean;
}): Promise<void> {
  const [width, height] = opts.size.split('x').map(Number) as [number, number];
  const log = createLogger({ name: `latency-guest-${opts.domid}` });
  const platform = await openPlatform(opts.domid, opts.simDir);
  const xs = await platform.xenstore();
  const backendId = async (kind: string) => Number(await xs.tryRead(`/local/domain/${platform.domid}/device/${kind}/0/backend-id`)) || 0;
  const vfb = new VfbFrontend(guestPagesFor(platform, await backendId('vfb')), width, height, {
    dirtyTiles: opts.dirtyTiles,
    tileSwitchOnMark: opts.switchOnMark,
    grantFb: true,
  });
  const vkbd = new VkbdFrontend(guestPagesFor(platform, await backendId('vkbd')), { width, height });
  const fb: FramebufferTarget = vfb;
  fillRect(fb, { x: 0, y: 0, width, height }, 0xe0e0e0);
  drawStamp(fb, 0);
  fb.damage({ x: 0, y: 0, width, height });
  const devices = [await XenbusFrontendDevice.open(xs, platform, vfb, 0, log), await XenbusFrontendDevice.open(xs, platform, vkbd, 0, log)];
  const rand = xorshift(0x1a7e);
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    fb.damage(drawScenario(fb, opts.scenario, seq, rand));
    fb.damage(drawStamp(fb, seq));
    process.stdout.write(`${seq} ${process.hrtime.bigint()}\n`);
  }, 1000 / opts.fps);
  const stop = async () => {
    clearInterval(timer);
    for (const d of devices) await d.close().catch(() => undefined);
    await platform.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  const cmd = new Command('latency-guest')
    .requiredOption('--sim-dir <dir>')
    .requiredOption('--domid <n>', 'domain id', Number)
    .addOption(new Option('--scenario <name>').choices(SCENARIOS).default('typing'))
    .option('--fps <n>', 'frames per second', Number, 60)
    .option('--size <WxH>', 'framebuffer size', '1920x1080')
    .option('--no-dirty-tiles', 'send XENFB_TYPE_UPDATE events')
    .option('--no-switch-on-mark', 'switch tiles only when the backend asks at its scan tick');
  cmd.parse(process.argv);
  run(cmd.opts()).catch((e: Error) => {
    process.stderr.write(`latency guest: ${e.message}\n`);
    process.exit(1);
  });
}
