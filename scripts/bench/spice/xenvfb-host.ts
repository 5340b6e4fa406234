// bench:spice side by side: our SpiceServer in a process of its own, fed frames over stdin the
// way c/xspice-draw.c feeds Xspice, so the two servers are charged the same kind of CPU (taking
// the pixels in, encoding, sending) and measured by the same client.
//   stdout: {"event":"ready","port":N} once listening on 127.0.0.1, then one byte per frame taken
//   stdin:  frames: x y width height (little-endian uint32) then width*height XRGB8888 pixels
// As `xenvfb backend --spice` runs: the pixels land in a "guest" framebuffer behind the display
// core (GuestDisplay: shadow copy, damage refined to what changed, scrolls found as copies), and
// the server has its defaults (codec chosen per rect, MJPEG streams on).

import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { SpiceServer } from '../../../backend/spice/server';
import { GuestDisplay } from '../../../backend/display/guest-display';
import { RecordingInput } from '../../../test/unit/vnc/helpers';
import { H, W } from './workloads';

const HEAD = 16;

async function main(): Promise<void> {
  const px = new Uint32Array(W * H);
  const display = new GuestDisplay('bench', { refineDamage: true });
  display.setSurface({ width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(px.buffer) });
  const server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, websocket: false });
  const { port } = await server.listen('127.0.0.1', 0);
  process.stdout.write(`${JSON.stringify({ event: 'ready', port })}\n`);

  let chunks: Buffer[] = [];
  let have = 0;
  let need = HEAD;
  let head: Buffer | null = null;
  process.stdin.on('data', (d: Buffer) => {
    chunks.push(d);
    have += d.length;
    while (have >= need) {
      const all = Buffer.concat(chunks, have);
      const part = all.subarray(0, need);
      chunks = [all.subarray(need)];
      have -= need;
      if (!head) {
        head = Buffer.from(part);
        const [x, y, w, h] = [0, 4, 8, 12].map((o) => head!.readUInt32LE(o)) as [number, number, number, number];
        if (w === 0 || h === 0 || x + w > W || y + h > H)
          throw new Error(`xenvfb-host: frame ${w}x${h} at ${x},${y} does not fit ${W}x${H}`);
        need = w * h * 4;
        continue;
      }
      const [x, y, w, h] = [0, 4, 8, 12].map((o) => head!.readUInt32LE(o)) as [number, number, number, number];
      const aligned = part.byteOffset % 4 === 0 ? part : new Uint8Array(part);
      const rows = new Uint32Array(aligned.buffer, aligned.byteOffset, w * h);
      for (let r = 0; r < h; r++) px.set(rows.subarray(r * w, (r + 1) * w), (y + r) * W + x);
      display.damage([{ x, y, width: w, height: h }]);
      process.stdout.write('k');
      head = null;
      need = HEAD;
    }
  });
  const stop = () => void server.close().then(() => process.exit(0));
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
}

void main();
