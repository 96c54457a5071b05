/** Choosing an extension for a call, favouring the focus extensions (e.g. a reception desk) by a given share. */
import type { Random } from "./random";

export class ExtensionPicker {
  constructor(
    private readonly extensions: readonly string[],
    private readonly focus: readonly string[],
    private readonly focusShare: number,
  ) {}

  /** An extension drawn among those that pass `filter`, favouring the focus extensions. */
  pick(rng: Random): string;
  pick(rng: Random, filter: (e: string) => boolean): string | undefined;
  pick(rng: Random, filter?: (e: string) => boolean): string | undefined {
    const candidates = filter ? this.extensions.filter(filter) : this.extensions;
    if (candidates.length === 0) return undefined;
    const focused = candidates.filter((e) => this.focus.includes(e));
    // Always two draws, so the choice does not shift the rest of the call's stream.
    const useFocus = rng.chance(this.focusShare);
    const pickedFocus = focused.length > 0 ? rng.pick(focused) : undefined;
    const picked = rng.pick(candidates);
    return useFocus && pickedFocus !== undefined ? pickedFocus : picked;
  }
}
