/**
 * SentStates: a replay of the current state (initial) is dropped for a subscriber that was last sent that very state
 * of the leg (found by the model-based test: a late subscriber handed the changes kept for it, whose extension was
 * then read again as it moved to another chunk, got the same Ringing twice); anything else goes through.
 */
import assert from "node:assert/strict";
import { SentStates } from "../../nodes/lib/poll/sent-states";
import type { CallEvent } from "../../nodes/lib/poll/poll-types";

const event = (status: string, eventId: string, initial: boolean): CallEvent =>
  ({ extension: "403", data: { uniqueCallId: "1.2", status }, seq: 5, initial, eventId }) as CallEvent;

describe("SentStates", () => {
  it("drops an initial replay of the state last sent for the leg, never a change, nor another state", () => {
    const states = new SentStates();
    const a = {};
    const b = {};
    assert.equal(states.repeats(a, event("Ringing", "r", true)), false, "nothing sent yet");
    states.sent(a, event("Ringing", "r", false));
    assert.equal(states.repeats(a, event("Ringing", "r", true)), true);
    assert.equal(states.repeats(a, event("Ringing", "r", false)), false, "a change is never dropped here");
    assert.equal(states.repeats(b, event("Ringing", "r", true)), false, "another subscriber");
    states.sent(a, event("Connected", "c", false));
    assert.equal(states.repeats(a, event("Ringing", "r", true)), false, "not its last state");
    states.sent(a, event("Busy", "b", false));
    assert.equal(states.repeats(a, event("Busy", "b", true)), true, "a Busy leg is still in progress for the PBX: a read lists it again");
    states.sent(a, event("Hungup", "h", false));
    assert.equal(states.repeats(a, event("Connected", "c", true)), false, "an ended leg is forgotten");
  });
});
