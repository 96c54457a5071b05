/**
 * Auto-answer SIP headers: the vendor presets the editors offer (noojee-answer's `answerString`, noojee-dial's
 * `autoAnswer`) and the rule for a custom header. The editor files carry a copy of the presets (they cannot import
 * this module); test/unit/auto-answer.test.ts keeps the copies identical to this catalogue.
 */

export interface AutoAnswerPreset {
  /** Key under `preset.` in the editors' message catalogues. */
  id: string;
  /** The header sent to the PBX; "" sends none. */
  value: string;
}

export const AUTO_ANSWER_PRESETS: readonly AutoAnswerPreset[] = [
  { id: "none", value: "" },
  { id: "yealink", value: "Call-info:answer-after=0" },
  { id: "grandstream", value: "Call-Info:\\; answer-after=0" },
  { id: "polycom", value: "Alert-Info: Ring Answer" },
];

/** Auto-answer headers are single header lines. */
export const MAX_AUTO_ANSWER = 200;

/** A header the nodes may send: one line, bounded. */
export function isValidAutoAnswer(value: string): boolean {
  return value.length <= MAX_AUTO_ANSWER && !/[\r\n]/.test(value);
}

/** The preset whose header is `value`, or undefined for a custom header. */
export function presetFor(value: string): AutoAnswerPreset | undefined {
  return AUTO_ANSWER_PRESETS.find((p) => p.value === value);
}
