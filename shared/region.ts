// Rectangles and small rect lists: the one module every part of xenvfb uses for damage
// (what a frontend marks, what the backend refines and sends, what a recorder stores).
// Pure functions; a Rect is half-open: it covers x <= px < x + width, y <= py < y + height.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function rectArea(r: Rect): number {
  return r.width * r.height;
}

export function isEmptyRect(r: Rect): boolean {
  return r.width <= 0 || r.height <= 0;
}

/**
 * Clip a rectangle to a width x height surface. Guest-supplied rects may be negative,
 * huge, or overflow when added; the result is always inside the surface (possibly empty).
 */
export function clipRect(r: Rect, width: number, height: number): Rect {
  const x0 = Math.max(0, Math.min(width, r.x));
  const y0 = Math.max(0, Math.min(height, r.y));
  const x1 = Math.max(0, Math.min(width, r.x + Math.max(0, r.width)));
  const y1 = Math.max(0, Math.min(height, r.y + Math.max(0, r.height)));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** The bounding box of both (an empty rect adds nothing). */
export function unionRect(a: Rect, b: Rect): Rect {
  if (isEmptyRect(a)) return { ...b };
  if (isEmptyRect(b)) return { ...a };
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const x1 = Math.max(a.x + a.width, b.x + b.width);
  const y1 = Math.max(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The bounding box of a list, or null for an empty list. */
export function boundingRect(rects: readonly Rect[]): Rect | null {
  if (rects.length === 0) return null;
  return rects.reduce<Rect>((acc, r) => unionRect(acc, r), { ...rects[0]! });
}

export function rectsEqual(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

/** The common part of a and b (empty, with zero width or height, when they do not meet). */
export function intersectRect(a: Rect, b: Rect): Rect {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** Do a and b share at least one pixel? */
export function rectsOverlap(a: Rect, b: Rect): boolean {
  if (isEmptyRect(a) || isEmptyRect(b)) return false;
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Does `r` share a pixel with any of `areas`? */
export function overlapsAny(r: Rect, areas: readonly Rect[]): boolean {
  return areas.some((a) => rectsOverlap(a, r));
}

/** Is every pixel of `inner` inside `outer`? */
export function containsRect(outer: Rect, inner: Rect): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

/** a minus b as up to four disjoint rects (top and bottom bands, then left and right). */
export function subtractRect(a: Rect, b: Rect): Rect[] {
  const i = intersectRect(a, b);
  if (isEmptyRect(i)) return isEmptyRect(a) ? [] : [{ ...a }];
  const out: Rect[] = [
    { x: a.x, y: a.y, width: a.width, height: i.y - a.y },
    { x: a.x, y: i.y + i.height, width: a.width, height: a.y + a.height - (i.y + i.height) },
    { x: a.x, y: i.y, width: i.x - a.x, height: i.height },
    { x: i.x + i.width, y: i.y, width: a.x + a.width - (i.x + i.width), height: i.height },
  ];
  return out.filter((r) => !isEmptyRect(r));
}

/** Each of `rects` minus every rect of `holes` (disjoint pieces; order kept). */
export function subtractAll(rects: readonly Rect[], holes: readonly Rect[]): Rect[] {
  let out = rects.filter((r) => !isEmptyRect(r)).map((r) => ({ ...r }));
  for (const h of holes) out = out.flatMap((r) => (rectsOverlap(r, h) ? subtractRect(r, h) : [r]));
  return out;
}

/**
 * `r` cut into tiles of at most tileWidth x tileHeight, row by row; tiles at the right and
 * bottom edges are smaller (an encoder's maximum rect, a hextile grid, a tile bitmap).
 */
export function splitIntoTiles(r: Rect, tileWidth: number, tileHeight: number): Rect[] {
  if (isEmptyRect(r)) return [];
  if (tileWidth <= 0 || tileHeight <= 0) throw new RangeError(`tile size ${tileWidth}x${tileHeight} must be positive`);
  const out: Rect[] = [];
  for (let y = r.y; y < r.y + r.height; y += tileHeight) {
    for (let x = r.x; x < r.x + r.width; x += tileWidth) {
      out.push({ x, y, width: Math.min(tileWidth, r.x + r.width - x), height: Math.min(tileHeight, r.y + r.height - y) });
    }
  }
  return out;
}
