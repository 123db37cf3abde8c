/** A least-squares line through (time, count) points. */
export interface Growth {
  /** Descriptors per minute (negative: shrinking). */
  readonly perMinute: number;
  /** Coefficient of determination: 1 = the points lie on the line (steady growth), near 0 = noise. */
  readonly r2: number;
}

/** One observation: when (ms since the epoch) and how many. */
export interface Point {
  readonly timeMs: number;
  readonly count: number;
}

/**
 * Fits count = a + b·time over `points` (ordinary least squares). A regression rather than
 * last-minus-first, so one burst of short-lived descriptors at either end does not decide the rate.
 * Undefined with fewer than two points or no time between them.
 */
export function fitGrowth(points: readonly Point[]): Growth | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const t0 = points[0]?.timeMs ?? 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += (p.timeMs - t0) / 1000;
    sy += p.count;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = (p.timeMs - t0) / 1000 - mx;
    const dy = p.count - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx; // per second
  // A flat series (syy 0) fits its line perfectly.
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { perMinute: slope * 60, r2 };
}

/**
 * Seconds until `count` reaches `limit` at `perMinute`, or undefined when it is not growing or there
 * is no limit. Zero once it is there.
 */
export function secondsToLimit(count: number, limit: number | null, perMinute: number | undefined): number | undefined {
  if (limit === null || perMinute === undefined || perMinute <= 0) return undefined;
  return Math.max(0, ((limit - count) / perMinute) * 60);
}
