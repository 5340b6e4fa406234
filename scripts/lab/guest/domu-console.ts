// Parser of the `LABU ...` lines the lab's domU writes to its console (see domu-init.sh).
// Pure: text in, records out. xenconsoled may split a line across reads, so only complete
// lines are parsed.

export interface InputEvent {
  device: string;
  type: number;
  code: number;
  value: number;
}

export interface DomuLog {
  booted: boolean;
  devices: Map<string, string>; // event0 -> "Xen Virtual Keyboard"
  frames: { width: number; height: number; stride: number }[];
  events: InputEvent[];
  done: Set<string>; // command sequence numbers the domU finished
  errors: string[];
}

export const EV_KEY = 1;
export const EV_ABS = 3;
export const KEY_A = 30;
export const BTN_LEFT = 0x110;

/** struct input_event on x86_64: timeval(16) | u16 type | u16 code | s32 value, little-endian. */
export function decodeInputEvent(device: string, hex: string): InputEvent | null {
  if (!/^[0-9a-f]{48}$/.test(hex)) return null;
  const b = Buffer.from(hex, 'hex');
  return { device, type: b.readUInt16LE(16), code: b.readUInt16LE(18), value: b.readInt32LE(20) };
}

export function parseDomuLog(text: string): DomuLog {
  const log: DomuLog = { booted: false, devices: new Map(), frames: [], events: [], done: new Set(), errors: [] };
  const lines = text.split('\n');
  lines.pop(); // the last piece may be incomplete
  for (const raw of lines) {
    const at = raw.indexOf('LABU ');
    if (at < 0) continue;
    const f = raw
      .slice(at + 5)
      .trim()
      .split(/\s+/);
    switch (f[0]) {
      case 'BOOT':
        log.booted = true;
        break;
      case 'DEV':
        log.devices.set(f[1]!, f.slice(2).join(' '));
        break;
      case 'FB':
        log.frames.push({ width: Number(f[1]), height: Number(f[2]), stride: Number(f[3]) });
        break;
      case 'EV': {
        const ev = decodeInputEvent(f[1]!, f[2] ?? '');
        if (ev) log.events.push(ev);
        break;
      }
      case 'DONE':
        log.done.add(f[1]!);
        break;
      case 'FB-NOPATTERN':
      case 'MODE-FAILED':
        log.errors.push(f.join(' '));
        break;
    }
  }
  return log;
}

/** The event device whose name contains `name` ("Keyboard", "Pointer"). */
export function deviceNamed(log: DomuLog, name: string): string | undefined {
  for (const [dev, n] of log.devices) if (n.includes(name)) return dev;
  return undefined;
}
