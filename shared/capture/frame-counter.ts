// What "frames" means in a capture's statistics (docs/capture-format.md §4.10): picture
// records (keyframe, damage, copy) with a time different from the previous picture record.
// The writer and the index rebuild count the same way.

import { RecordType } from './format';

export class FrameCounter {
  count = 0;
  private last = -1;

  /** Count a record by its type number (format.ts RecordType). */
  see(type: number, timeMs: number): void {
    if (type !== RecordType.KEYFRAME && type !== RecordType.DAMAGE && type !== RecordType.COPY) return;
    if (timeMs !== this.last) this.count++;
    this.last = timeMs;
  }
}
