// The server's bookkeeping of a client's pixmap cache (spice.proto: an image sent with
// SPICE_IMAGE_FLAGS_CACHE_ME is kept by the client under its descriptor id; FROM_CACHE draws
// it again; INVAL_LIST removes entries). spice-gtk never evicts on its own, so the server keeps
// the total within the pixmap_cache_size the client gave in DISPLAY_INIT, least recently used
// first, and tells the client what to drop (like spice-server's pixmap cache, dcc.cpp).

import * as crypto from 'node:crypto';

/** Largest image worth caching, in pixels (bigger ones rarely repeat and cost a hash each). */
export const SPICE_CACHE_MAX_IMAGE_PIXELS = 256 * 1024;

/** A content key for w x h pixels (collisions would draw a wrong image: SHA-1 makes them impractical). */
export function imageKey(width: number, height: number, pixels: Uint8Array): string {
  return crypto.createHash('sha1').update(pixels).update(`${width}x${height}`).digest('base64');
}

export class PixmapCache {
  /** key -> entry, in least-recently-used-first order (Map keeps insertion order). */
  private readonly entries = new Map<string, { id: bigint; pixels: number }>();
  private used = 0;
  hits = 0;
  evictions = 0;

  constructor(readonly capacityPixels: number) {}

  get size(): number {
    return this.entries.size;
  }

  get usedPixels(): number {
    return this.used;
  }

  /** The cached id for this key (now the most recently used), or undefined. */
  lookup(key: string): bigint | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.id;
  }

  /** Whether an image of this many pixels may be cached at all. */
  fits(pixels: number): boolean {
    return pixels <= Math.min(this.capacityPixels, SPICE_CACHE_MAX_IMAGE_PIXELS);
  }

  /** Record an image the client is told to cache; returns the ids it must drop first. */
  insert(key: string, id: bigint, pixels: number): bigint[] {
    const evicted: bigint[] = [];
    for (const [k, e] of this.entries) {
      if (this.used + pixels <= this.capacityPixels) break;
      this.entries.delete(k);
      this.used -= e.pixels;
      evicted.push(e.id);
    }
    this.evictions += evicted.length;
    this.entries.set(key, { id, pixels });
    this.used += pixels;
    return evicted;
  }
}
