/**
 * A small seedable pseudo-random generator (mulberry32) for reproducible simulator traffic.
 * Not for anything secret: it only has to give the same sequence for the same seed on every machine.
 */

/** Hashes any seed text to 32 bits (FNV-1a, then a murmur3 finaliser to spread short seeds such as "1" and "2"). */
export function hashSeed(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Range {
  min: number;
  max: number;
}

export class Random {
  private state: number;

  /** A text seed is hashed; a number is used as a 32-bit state. */
  constructor(seed: string | number) {
    this.state = typeof seed === "number" ? seed >>> 0 : hashSeed(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** 32 random bits, e.g. to seed another generator. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A whole number of milliseconds in the range (both ends included). */
  between(range: Range): number {
    return this.int(Math.round(range.min), Math.round(range.max));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Random.pick: no items");
    return items[Math.floor(this.next() * items.length)];
  }

  /** A key drawn with probability proportional to its weight (weights >= 0, at least one > 0). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    if (!(total > 0)) throw new Error("Random.weighted: the weights add up to 0");
    let r = this.next() * total;
    let lastWeighted = entries[0][0];
    for (const [key, w] of entries) {
      if (w <= 0) continue;
      if (r < w) return key;
      r -= w;
      lastWeighted = key;
    }
    // Rounding can leave r a hair above the last weight: that draw belongs to the last key that has any weight.
    return lastWeighted;
  }

  /** An exponentially distributed delay with the given mean (the gaps between Poisson arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}
