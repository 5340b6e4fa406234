// What "frames" means in a capture's statistics (docs/capture-format.md §4.10): picture
// records (keyframe, damage, copy) with a time different from the previous picture record.
// The writer and the index rebuild count the same way.

export class FrameCounter {
  count = 0;
  private last = -1;

  see(type: string, timeMs: number): void {
    if (type !== 'keyframe' && type !== 'damage' && type !== 'copy') return;
    if (timeMs !== this.last) this.count++;
    this.last = timeMs;
  }
}
