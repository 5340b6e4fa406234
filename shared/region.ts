// Rectangles of damage, shared by the frontend (what it marks) and the backend (what it sends).

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

export function unionRect(a: Rect, b: Rect): Rect {
  if (isEmptyRect(a)) return { ...b };
  if (isEmptyRect(b)) return { ...a };
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const x1 = Math.max(a.x + a.width, b.x + b.width);
  const y1 = Math.max(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function rectsEqual(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
