// The real-Xen lab's pure parts, checked on the host: what the domU draws, how its console
// and the serial log are read, xenstored's trace, and the lab's RFB Raw parser.

import { strict as assert } from 'node:assert';
import { firstMismatch, patternFrame, patternPixel } from '../../../scripts/lab/pattern';
import { parseSerialLog } from '../../../scripts/lab/serial-log';
import { BTN_LEFT, EV_KEY, decodeInputEvent, deviceNamed, parseDomuLog } from '../../../scripts/lab/guest/domu-console';
import { backendWrites, connectionLines } from '../../../scripts/lab/guest/xenstored-trace';
import { parseServerMessage } from '../../../scripts/lab/guest/rfb-raw-client';
import { qemuArgs } from '../../../scripts/lab/qemu';
import { selectedPhases } from '../../../scripts/lab/phases';
import { parseHostGrabLine } from '../../../scripts/lab/host-grab';
import { JsonObjectSplitter, parseDmArgs, qmpReply } from '../../../scripts/hooks/xl-device-model';

describe('lab: pattern', () => {
  it('lays pixels out as XRGB8888 little-endian rows of `stride` bytes', () => {
    const f = patternFrame(4, 3, 32);
    assert.equal(f.length, 96);
    const px = patternPixel(2, 1, 4, 3);
    assert.deepEqual([...f.subarray(32 + 8, 32 + 12)], [px & 0xff, (px >> 8) & 0xff, (px >> 16) & 0xff, 0]);
    assert.deepEqual([...f.subarray(16, 32)], new Array(16).fill(0)); // padding
  });
  it('differs between geometries, so a stale screen cannot pass', () => {
    assert.notEqual(patternPixel(0, 0, 800, 600), patternPixel(0, 0, 640, 480));
  });
  it('firstMismatch finds the first differing pixel and counts them', () => {
    const w = 5,
      h = 4;
    const pixels = new Uint32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels[y * w + x] = patternPixel(x, y, w, h) | 0xff000000;
    assert.equal(firstMismatch(pixels, w, h), null); // the X byte is ignored
    pixels[2 * w + 3] ^= 1;
    pixels[3 * w] ^= 0x10000;
    assert.deepEqual(firstMismatch(pixels, w, h), {
      x: 3,
      y: 2,
      got: patternPixel(3, 2, w, h) ^ 1,
      want: patternPixel(3, 2, w, h),
      count: 2,
    });
  });
});

describe('lab: domU console', () => {
  const keyA = '0000000000000000000000000000000001001e0001000000';
  it('decodes a 24-byte x86_64 input_event', () => {
    assert.deepEqual(decodeInputEvent('event0', keyA), { device: 'event0', type: 1, code: 30, value: 1 });
    assert.deepEqual(decodeInputEvent('event1', '00000000000000000000000000000000010010010000000000'.slice(0, 48)), {
      device: 'event1',
      type: EV_KEY,
      code: BTN_LEFT,
      value: 0,
    });
    assert.equal(decodeInputEvent('event0', 'zz'), null);
    assert.equal(decodeInputEvent('event0', keyA + '00'), null);
  });
  it('reads devices, frames, events and done markers; ignores an incomplete last line', () => {
    const log = parseDomuLog(
      '[ 1.0] noise\nLABU BOOT 1.2\nLABU DEV event0 Xen Virtual Keyboard\r\nLABU DEV event1 Xen Virtual Pointer\n' +
        `LABU FB 800 600 3200\nLABU EV event0 ${keyA}\nLABU DONE 1\nLABU MODE-FAILED 9 9\nLABU FB 640 48`,
    );
    assert.equal(log.booted, true);
    assert.equal(deviceNamed(log, 'Pointer'), 'event1');
    assert.deepEqual(log.frames, [{ width: 800, height: 600, stride: 3200 }]);
    assert.equal(log.events.length, 1);
    assert.ok(log.done.has('1'));
    assert.deepEqual(log.errors, ['MODE-FAILED 9 9']);
  });
});

describe('lab: serial log', () => {
  it('collects checks, phases and the end marker through Xen console CR CR LF endings', () => {
    const r = parseSerialLog(
      '(XEN) boot\r\nLAB DOM0 init t=10.59 mem=1kB\r\r\nLAB PHASE dom0-toolstack 1.23\r\r\n' +
        'LAB CHECK key PASS XK_a -> event0\r\r\nLAB CHECK teardown FAIL no state 6\r\r\nLAB CHECK native-xen-test SKIP absent\r\r\nLAB END rc=1 t=99\r\r\n',
    );
    assert.equal(r.dom0InitAt, 10.59);
    assert.deepEqual(r.phases, [{ name: 'dom0-toolstack', seconds: 1.23 }]);
    assert.deepEqual(
      r.checks.map((c) => `${c.name}:${c.status}:${c.detail}`),
      ['key:PASS:XK_a -> event0', 'teardown:FAIL:no state 6', 'native-xen-test:SKIP:absent'],
    );
    assert.equal(r.endCode, 1);
    assert.deepEqual(r.problems, []);
  });
  it('keeps a check whose detail quotes a CR-ended domU console line; an unreadable check is a FAIL', () => {
    const r = parseSerialLog('LAB CHECK tsfront-input PASS XK_a -> G {"a":1}\r G {"b":2}\r\r\r\nLAB CHECK broken\r\r\n');
    assert.deepEqual(
      r.checks.map((c) => `${c.name}:${c.status}:${c.detail}`),
      ['tsfront-input:PASS:XK_a -> G {"a":1}  G {"b":2}', 'unparsed-check:FAIL:CHECK broken'],
    );
  });
  it('names a crash when the run never ended', () => {
    const r = parseSerialLog('[ 3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n');
    assert.equal(r.endCode, undefined);
    assert.equal(r.problems.length, 2);
  });
});

describe('lab: xenstored trace', () => {
  it('lists online/state writes to one backend directory in order', () => {
    const be = '/local/domain/0/backend/vfb/1/0';
    const trace = [
      `IN 0x5581 20261121 10:00:00.1 WRITE (${be}/state 4 )`,
      `OUT 0x5581 20261121 10:00:00.1 WRITE (OK )`,
      `IN 0x5590 20261121 10:00:01.0 WRITE (${be}/online 0 )`,
      `IN 0x5590 20261121 10:00:01.0 WRITE (${be}/state 5 )`,
      `IN 0x5581 20261121 10:00:01.2 WRITE (${be}/state 6 )`,
      `IN 0x5581 20261121 10:00:01.2 WRITE (${be}0/state 6 )`,
    ].join('\n');
    assert.deepEqual(backendWrites(trace, be), ['state=4', 'online=0', 'state=5', 'state=6']);
  });
  it('picks out one connection by a request only it makes, with its replies', () => {
    const trace = [
      'CREATE connection 0x7a',
      'IN 0x10 20261121 10:00:00.1 READ (/local/domain/3/device/vfb/0/state )',
      'IN 0x7a 20261121 10:00:00.2 READ (domid )',
      'OUT 0x7a 20261121 10:00:00.2 READ (3)',
      'IN 0x7a 20261121 10:00:00.3 READ (data/lab-cmd )',
      'OUT 0x10 20261121 10:00:00.3 READ (1)',
      'IN 0x7a 20261121 10:00:00.4 WATCH (device 1:fe )',
    ].join('\n');
    assert.deepEqual(connectionLines(trace, /READ \(data\/lab-cmd /), [
      'IN 0x7a 20261121 10:00:00.2 READ (domid )',
      'OUT 0x7a 20261121 10:00:00.2 READ (3)',
      'IN 0x7a 20261121 10:00:00.3 READ (data/lab-cmd )',
      'IN 0x7a 20261121 10:00:00.4 WATCH (device 1:fe )',
    ]);
    assert.deepEqual(connectionLines(trace, /READ \(nothing /), []);
  });
});

describe('lab: RFB Raw parser', () => {
  function update(): Buffer {
    // u8 type | u8 pad | u16 count | rects: DesktopSize 2x1, Raw 2x1 at (0,0)
    const b = Buffer.alloc(4 + 12 + 12 + 8);
    b.writeUInt16BE(2, 2);
    b.writeUInt16BE(2, 8);
    b.writeUInt16BE(1, 10);
    b.writeInt32BE(-223, 12);
    b.writeUInt16BE(2, 20);
    b.writeUInt16BE(1, 22);
    b.writeInt32BE(0, 24);
    b.writeUInt32LE(0x00112233, 28);
    b.writeUInt32LE(0x00445566, 32);
    return b;
  }
  it('parses an update with DesktopSize and Raw rects', () => {
    const r = parseServerMessage(update());
    assert.ok(r && r.message.type === 'update');
    assert.equal(r.size, update().length);
    assert.deepEqual([...r.message.rects[1]!.pixels!], [0x112233, 0x445566]);
  });
  it('asks for more bytes at every split point', () => {
    const full = update();
    for (let n = 0; n < full.length; n++) assert.equal(parseServerMessage(full.subarray(0, n)), null, `split at ${n}`);
  });
  it('rejects encodings and message types it never asked for', () => {
    const b = update();
    b.writeInt32BE(16, 24); // ZRLE
    assert.throws(() => parseServerMessage(b), /unexpected encoding 16/);
    assert.throws(() => parseServerMessage(Buffer.from([9])), /unexpected server message type 9/);
  });
});

describe('lab: QEMU command line', () => {
  it('boots Xen with the CPU model that works under TCG and two multiboot modules', () => {
    const a = qemuArgs({
      xen: 'x.elf',
      dom0Kernel: 'k',
      dom0Image: 'i.cpio',
      serialLog: '',
      timeoutMs: 1,
      memoryMiB: 2048,
      dom0MemMiB: 1024,
    });
    assert.equal(a[a.indexOf('-cpu') + 1], 'qemu64,+svm');
    assert.ok(a.includes('-no-reboot'));
    assert.equal(a[a.indexOf('-initrd') + 1], 'k console=hvc0 earlyprintk=xen rdinit=/init,i.cpio');
    assert.match(a[a.indexOf('-append') + 1]!, /dom0_mem=1024M,max:1024M/);
    assert.equal(a[a.indexOf('-nic') + 1], 'none');
  });

  it("reads dom0's request for the host's SPICE grab from a serial line, and nothing else", () => {
    assert.deepEqual(parseHostGrabLine('\r(d0) LAB HOST-GRAB domid=5 width=800 height=600\r'), { domid: 5, width: 800, height: 600 });
    assert.equal(parseHostGrabLine('LAB CHECK watch-spice-screen PASS ...'), undefined);
  });

  it('forwards host loopback ports to dom0 through an isolated user network when asked', () => {
    const a = qemuArgs({
      xen: 'x.elf',
      dom0Kernel: 'k',
      dom0Image: 'i.cpio',
      serialLog: '',
      timeoutMs: 1,
      memoryMiB: 2048,
      dom0MemMiB: 1024,
      hostForwards: [
        { host: 40001, guest: 15900 },
        { host: 40002, guest: 15930 },
      ],
    });
    assert.equal(
      a[a.indexOf('-nic') + 1],
      'user,model=e1000,restrict=on,hostfwd=tcp:127.0.0.1:40001-:15900,hostfwd=tcp:127.0.0.1:40002-:15930',
    );
  });
});

describe('lab: device-model stand-in (xl vfb path)', () => {
  it("reads the domid, name and QMP sockets from libxl's QEMU command line", () => {
    const argv = [
      '-xen-domid',
      '3',
      '-no-shutdown',
      '-chardev',
      'socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-3,server=on,wait=off',
      '-mon',
      'chardev=libxl-cmd,mode=control',
      '-chardev',
      'socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-3,server=on,wait=off',
      '-xen-attach',
      '-name',
      'labxlvfb',
      '-vnc',
      'none',
      '-machine',
      'xenpv',
    ];
    assert.deepEqual(parseDmArgs(argv), {
      domid: 3,
      name: 'labxlvfb',
      qmpSockets: ['/var/run/xen/qmp-libxl-3', '/var/run/xen/qmp-libxenstat-3'],
    });
    assert.throws(() => parseDmArgs(['-name', 'x']), /no -xen-domid/);
  });
  it('splits QMP commands however the stream is cut, braces inside strings included', () => {
    const s = new JsonObjectSplitter();
    assert.deepEqual(s.push('{"execute":"qmp_capabilities","id":1}\r\n{"execute":"query-'), [{ execute: 'qmp_capabilities', id: 1 }]);
    assert.deepEqual(s.push('chardev","id":2,"x":"}{"}'), [{ execute: 'query-chardev', id: 2, x: '}{' }]);
    assert.deepEqual(s.push('\r\n'), []);
  });
  it('answers qmp_capabilities with {} and query-chardev with [], echoing the id', () => {
    assert.deepEqual(qmpReply({ execute: 'qmp_capabilities', id: 1 }), { return: {}, id: 1 });
    assert.deepEqual(qmpReply({ execute: 'query-chardev', id: 'a' }), { return: [], id: 'a' });
    assert.deepEqual(qmpReply({ execute: 'query-status' }), { return: { status: 'running', singlestep: false, running: true } });
  });
});

describe('lab: phase selection', () => {
  it('runs every phase by default, LAB_ONLY picks, LAB_SKIP_* leaves out', () => {
    assert.deepEqual(selectedPhases({}), ['stock', 'tsfront', 'xlvfb', 'watch']);
    assert.deepEqual(selectedPhases({ LAB_SKIP_WATCH: '1' }), ['stock', 'tsfront', 'xlvfb']);
    assert.deepEqual(selectedPhases({ LAB_ONLY: 'tsfront' }), ['tsfront']);
    assert.deepEqual(selectedPhases({ LAB_ONLY: 'xlvfb,stock' }), ['stock', 'xlvfb']);
    assert.deepEqual(selectedPhases({ LAB_SKIP_TSFRONT: '1', LAB_SKIP_XLVFB: '1', LAB_SKIP_WATCH: '1' }), ['stock']);
    assert.throws(() => selectedPhases({ LAB_ONLY: 'nope' }), /unknown phase 'nope'/);
  });

  it('hands the selection to dom0 as NAME=value words of its kernel command line', () => {
    const args = qemuArgs({
      xen: 'x',
      dom0Kernel: 'k',
      dom0Image: 'i',
      serialLog: 's',
      timeoutMs: 1,
      memoryMiB: 2048,
      dom0MemMiB: 1024,
      dom0Env: { LAB_PHASES: 'stock+xlvfb', LAB_DOM0_DEADLINE: '570' },
    });
    assert.equal(
      args[args.indexOf('-initrd') + 1],
      'k console=hvc0 earlyprintk=xen rdinit=/init LAB_PHASES=stock+xlvfb LAB_DOM0_DEADLINE=570,i',
    );
    assert.throws(() =>
      qemuArgs({
        xen: 'x',
        dom0Kernel: 'k',
        dom0Image: 'i',
        serialLog: 's',
        timeoutMs: 1,
        memoryMiB: 1,
        dom0MemMiB: 1,
        dom0Env: { A: 'a,b' },
      }),
    );
  });
});
