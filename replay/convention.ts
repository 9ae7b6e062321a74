/** The benchmark convention's capacity: max(1, round-half-up(p95 / 10)), p95 by nearest rank. */
export function conventionCapacity(demand: readonly number[]): number {
  const s = [...demand].sort((a, b) => a - b);
  const p95 = s[Math.max(0, Math.ceil(0.95 * s.length) - 1)] ?? 0;
  return Math.max(1, Math.floor(p95 / 10 + 0.5));
}

/** The benchmark convention's startup steps: 1 at 5 minutes or more, 3 at 1 minute, 8 at 15 seconds. */
export function conventionStartupSteps(intervalSeconds: number): number {
  if (intervalSeconds >= 300) return 1;
  if (intervalSeconds >= 60) return 3;
  // Two minutes of startup, as the 15-second convention implies, at any shorter interval.
  return Math.ceil(120 / intervalSeconds);
}
