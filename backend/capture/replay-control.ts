// What a replay's control socket does (backend/control/replay-protocol.ts): pause, play,
// seek and speed on the ReplayDisplay every server of the replay serves, and its status.

import type { DisplayServer } from '../display-server';
import type { ReplayRequest, ReplayStatus } from '../control/replay-protocol';
import type { ReplayDisplay } from './replay-display';

export function replayControlHandler(
  display: ReplayDisplay,
  file: string,
  opts: { loop: boolean; servers: () => DisplayServer[] },
): (req: ReplayRequest) => ReplayStatus {
  const status = (): ReplayStatus => ({
    file,
    positionMs: display.currentMs(),
    durationMs: display.durationMs,
    speed: display.playbackSpeed,
    paused: display.isPaused,
    ended: display.ended,
    loop: opts.loop,
    clients: opts.servers().reduce((n, s) => n + s.clientInfo().length, 0),
  });
  return (req) => {
    switch (req.op) {
      case 'pause':
        display.pause();
        break;
      case 'play':
        display.resume();
        break;
      case 'seek':
        display.seek(req.ms);
        break;
      case 'speed':
        display.setSpeed(req.x);
        break;
      case 'status':
        break;
    }
    return status();
  };
}
